import type { Migration } from "./migration.js";

/**
 * Deliveries and attempts, for a queue that survives restarts:
 * - every accepted X-GitHub-Delivery names the build it started or joined,
 *   so a redelivery (same id) starts nothing new;
 * - a build counts how often it was started: one that a restart interrupts
 *   is queued again, until it has been started too often.
 */
export const v3Deliveries: Migration = {
  version: 3,
  name: "deliveries, build attempts",
  sql: `
    CREATE TABLE deliveries (
      delivery_id TEXT PRIMARY KEY,
      build_id TEXT NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
      received_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX deliveries_by_build ON deliveries (build_id);
    INSERT OR IGNORE INTO deliveries (delivery_id, build_id, received_at)
      SELECT delivery_id, id, created_at FROM builds WHERE delivery_id IS NOT NULL;
    ALTER TABLE builds ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX builds_by_commit ON builds (owner, repo, sha, pipeline, state);
    CREATE INDEX builds_by_pr ON builds (owner, repo, pr_number, state);
  `,
};
