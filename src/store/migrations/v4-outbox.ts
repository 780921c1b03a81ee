import type { Migration } from "./migration.js";

/**
 * GitHub writes (commit statuses, check-run updates) that could not be
 * delivered, kept to be retried later, also by the next process after a
 * crash. One row per thing written (`key`: a status context of a commit, a
 * check run): a newer write of the same key replaces the row, so a late
 * retry never overwrites a newer state. `requests_json` is the list of
 * requests still to send, in order; `version` tells a replaced row apart.
 */
export const v4Outbox: Migration = {
  version: 4,
  name: "outbox of undelivered GitHub writes",
  sql: `
    CREATE TABLE github_outbox (
      key TEXT PRIMARY KEY,
      kind TEXT NOT NULL CHECK (kind IN ('status', 'check-run')),
      installation_id INTEGER,
      requests_json TEXT NOT NULL,
      version TEXT NOT NULL,
      attempts INTEGER NOT NULL,
      created_at TEXT NOT NULL,
      next_attempt_at TEXT NOT NULL,
      last_error TEXT
    ) STRICT;
    CREATE INDEX github_outbox_due ON github_outbox (next_attempt_at);
  `,
};
