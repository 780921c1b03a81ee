import type { Migration } from "./migration.js";

/**
 * What the report says beside a step's results, kept for the build page: the
 * author's next move on a failure the step understood (`advice`), its notes
 * (what test.parallel would save), and for a test that failed only in a
 * parallel run (and passed alone) how it failed there (JSON).
 */
export const v8StepAdvice: Migration = {
  version: 8,
  name: "step advice and notes; tests failing only in parallel",
  sql: `
    ALTER TABLE steps ADD COLUMN advice TEXT;
    ALTER TABLE steps ADD COLUMN notes_json TEXT;
    ALTER TABLE test_results ADD COLUMN only_in_parallel_json TEXT;
  `,
};
