import type { TestCaseResult, TestCounts, TestOutcome } from "../types.js";
import { plural } from "../../text/plural.js";

/**
 * Reads the RESULTS.json written by python/pyci_unittest.py:
 *   { "tests": [{ id, outcome, duration_ms, message?, traceback?, file?, line? }], "load_errors": n }
 * Import failures during discovery are already among `tests` (as errors), so
 * the counts do not add `load_errors` again.
 */
export function parseUnittestResults(json: string): { tests: TestCaseResult[]; counts: TestCounts } {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`unittest results are not valid JSON: ${(err as Error).message}`);
  }
  if (!isRecord(data)) throw new Error("unittest results: expected a JSON object");
  if (!Array.isArray(data.tests)) throw new Error('unittest results: "tests" must be an array');
  if (typeof data.load_errors !== "number" || !Number.isInteger(data.load_errors) || data.load_errors < 0) {
    throw new Error('unittest results: "load_errors" must be a non-negative integer');
  }
  const tests = data.tests.map((entry, index) => toTestCase(entry, `tests[${index}]`));
  return { tests, counts: countOutcomes(tests) };
}

/**
 * One line with numbers for commit statuses (at most 140 characters), e.g.
 * "901 tests passed", "12 tests passed, 3 skipped", "2 of 903 failed, 1 error",
 * "1 error in 10 tests", "No tests found".
 */
export function describeTestCounts(counts: TestCounts): string {
  if (counts.total === 0) return "No tests found";
  const problems: string[] = [];
  if (counts.errors > 0) problems.push(plural(counts.errors, "error"));
  if (counts.unexpectedSuccesses > 0)
    problems.push(plural(counts.unexpectedSuccesses, "unexpected success", "unexpected successes"));
  const extras: string[] = [];
  if (counts.skipped > 0) extras.push(`${counts.skipped} skipped`);
  if (counts.expectedFailures > 0) extras.push(plural(counts.expectedFailures, "expected failure"));

  let parts: string[];
  if (counts.failed > 0) {
    parts = [`${counts.failed} of ${counts.total} failed`, ...problems, ...extras];
  } else if (problems.length > 0) {
    parts = [`${problems.join(", ")} in ${plural(counts.total, "test")}`, ...extras];
  } else {
    parts = [`${plural(counts.passed, "test")} passed`, ...extras];
  }
  const line = parts.join(", ");
  return line.length <= 140 ? line : `${line.slice(0, 139)}…`;
}

const OUTCOMES: readonly TestOutcome[] = ["pass", "fail", "error", "skip", "expected_failure", "unexpected_success"];

function toTestCase(entry: unknown, where: string): TestCaseResult {
  if (!isRecord(entry)) throw new Error(`unittest results: ${where} must be an object`);
  const { id, outcome, duration_ms: durationMs, message, traceback, file, line } = entry;
  if (typeof id !== "string" || id === "") throw new Error(`unittest results: ${where}.id must be a non-empty string`);
  if (typeof outcome !== "string" || !(OUTCOMES as readonly string[]).includes(outcome)) {
    throw new Error(
      `unittest results: ${where}.outcome must be one of ${OUTCOMES.join(", ")} (got ${JSON.stringify(outcome)})`,
    );
  }
  if (typeof durationMs !== "number" || !Number.isFinite(durationMs) || durationMs < 0) {
    throw new Error(`unittest results: ${where}.duration_ms must be a non-negative number`);
  }
  const result: TestCaseResult = { id, outcome: outcome as TestOutcome, durationMs };
  if (message !== undefined) result.message = expectString(message, `${where}.message`);
  if (traceback !== undefined) result.traceback = expectString(traceback, `${where}.traceback`);
  if (file !== undefined) result.file = expectString(file, `${where}.file`);
  if (line !== undefined) {
    if (typeof line !== "number" || !Number.isInteger(line) || line < 1) {
      throw new Error(`unittest results: ${where}.line must be a positive integer`);
    }
    result.line = line;
  }
  return result;
}

function countOutcomes(tests: TestCaseResult[]): TestCounts {
  const counts: TestCounts = {
    total: tests.length,
    passed: 0,
    failed: 0,
    errors: 0,
    skipped: 0,
    expectedFailures: 0,
    unexpectedSuccesses: 0,
  };
  for (const test of tests) {
    switch (test.outcome) {
      case "pass":
        counts.passed++;
        break;
      case "fail":
        counts.failed++;
        break;
      case "error":
        counts.errors++;
        break;
      case "skip":
        counts.skipped++;
        break;
      case "expected_failure":
        counts.expectedFailures++;
        break;
      case "unexpected_success":
        counts.unexpectedSuccesses++;
        break;
    }
  }
  return counts;
}

function expectString(value: unknown, where: string): string {
  if (typeof value !== "string") throw new Error(`unittest results: ${where} must be a string`);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
