import type { Migration } from "./migration.js";

/**
 * The first schema: builds, their steps, and each step's test results and
 * diagnostics. A step's tests and diagnostics are keyed by the step's
 * position in the build (step names need not be unique); what has no column
 * of its own is JSON. Booleans are 0/1.
 */
export const v1Initial: Migration = {
  version: 1,
  name: "builds, steps, test results and diagnostics",
  sql: `
    CREATE TABLE builds (
      id TEXT PRIMARY KEY,
      owner TEXT NOT NULL,
      repo TEXT NOT NULL,
      sha TEXT NOT NULL,
      event TEXT NOT NULL,
      pipeline TEXT NOT NULL,
      delivery_id TEXT,
      pr_number INTEGER,
      pr_title TEXT,
      pr_url TEXT,
      state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'success', 'failure', 'error')),
      error TEXT,
      created_at TEXT NOT NULL,
      started_at TEXT,
      finished_at TEXT,
      check_run_id INTEGER,
      request_json TEXT
    ) STRICT;
    CREATE INDEX builds_by_created ON builds (created_at, id);
    CREATE INDEX builds_by_repo ON builds (owner, repo, created_at, id);
    CREATE INDEX builds_by_state ON builds (state, created_at, id);

    CREATE TABLE steps (
      build_id TEXT NOT NULL REFERENCES builds (id) ON DELETE CASCADE,
      position INTEGER NOT NULL,
      name TEXT NOT NULL,
      state TEXT NOT NULL,
      summary TEXT NOT NULL,
      exit_code INTEGER,
      duration_ms REAL NOT NULL,
      enforced INTEGER,
      python TEXT,
      -- NULL when the step has no list at all, else how many rows it has below
      test_count INTEGER,
      diagnostic_count INTEGER,
      test_counts_json TEXT,
      counts_json TEXT,
      artifacts_json TEXT,
      PRIMARY KEY (build_id, position)
    ) STRICT;

    CREATE TABLE test_results (
      build_id TEXT NOT NULL,
      step INTEGER NOT NULL,
      position INTEGER NOT NULL,
      test_id TEXT NOT NULL,
      outcome TEXT NOT NULL,
      duration_ms REAL NOT NULL,
      message TEXT,
      traceback TEXT,
      file TEXT,
      line INTEGER,
      PRIMARY KEY (build_id, step, position),
      FOREIGN KEY (build_id, step) REFERENCES steps (build_id, position) ON DELETE CASCADE
    ) STRICT;

    CREATE TABLE diagnostics (
      build_id TEXT NOT NULL,
      step INTEGER NOT NULL,
      position INTEGER NOT NULL,
      file TEXT NOT NULL,
      line INTEGER NOT NULL,
      "column" INTEGER NOT NULL,
      end_line INTEGER,
      end_column INTEGER,
      severity TEXT NOT NULL,
      rule TEXT NOT NULL,
      message TEXT NOT NULL,
      syntax INTEGER NOT NULL,
      PRIMARY KEY (build_id, step, position),
      FOREIGN KEY (build_id, step) REFERENCES steps (build_id, position) ON DELETE CASCADE
    ) STRICT;
  `,
};
