import type { Migration } from "./migration.js";

/**
 * Builds know their branch, for badges ("the latest result on main").
 * Builds stored before this have it only inside their request: copied out.
 */
export const v2BuildBranch: Migration = {
  version: 2,
  name: "builds.branch, for badges",
  sql: `
    ALTER TABLE builds ADD COLUMN branch TEXT;
    UPDATE builds SET branch = json_extract(request_json, '$.branch')
      WHERE request_json IS NOT NULL AND json_valid(request_json);
    CREATE INDEX builds_by_branch ON builds (owner, repo, branch, created_at, id);
  `,
};
