import type { Migration } from "./migration.js";

/**
 * Test results as unittest reports them: a result per failing subtest (its
 * parameters in `subtest`) and per run of a test from another module than
 * its id names (`module`); a step's test counts become unittest's figures
 * ({ run, failures, errors, … }). Counts stored before were per test
 * ({ total, failed, … }) and are renamed: each test then had one result.
 */
export const v6TestRuns: Migration = {
  version: 6,
  name: "test results per subtest and module; unittest's counts",
  sql: `
    ALTER TABLE test_results ADD COLUMN subtest TEXT;
    ALTER TABLE test_results ADD COLUMN module TEXT;
    UPDATE steps SET test_counts_json = json_object(
      'run', json_extract(test_counts_json, '$.total'),
      'failures', json_extract(test_counts_json, '$.failed'),
      'errors', json_extract(test_counts_json, '$.errors'),
      'skipped', json_extract(test_counts_json, '$.skipped'),
      'expectedFailures', json_extract(test_counts_json, '$.expectedFailures'),
      'unexpectedSuccesses', json_extract(test_counts_json, '$.unexpectedSuccesses')
    )
    WHERE json_extract(test_counts_json, '$.total') IS NOT NULL;
  `,
};
