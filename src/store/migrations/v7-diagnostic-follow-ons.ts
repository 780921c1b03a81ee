import type { Migration } from "./migration.js";

/**
 * A diagnostic that is a follow-on of its file's one counted syntax error
 * (1), shown and never counted. Diagnostics without a place (a Sphinx
 * warning about the configuration) are stored with file '' and line and
 * column 0, which the columns' NOT NULL predates.
 */
export const v7DiagnosticFollowOns: Migration = {
  version: 7,
  name: "diagnostics that follow on a syntax error",
  sql: `ALTER TABLE diagnostics ADD COLUMN follow_on INTEGER NOT NULL DEFAULT 0;`,
};
