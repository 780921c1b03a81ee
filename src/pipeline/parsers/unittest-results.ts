import type { TestCaseResult, TestCounts, TestOutcome } from "../types.js";

/** What a run of part of the tests (--shard, --only) says it chose: how many tests, of how many, by which deal. */
export interface TestSelection {
  selected: number;
  tests?: number;
  fingerprint?: string;
}

/**
 * Reads the RESULTS.json written by python/pyci_unittest.py:
 *   { "tests": [{ id, outcome, duration_ms, subtest?, module?, message?, traceback?, file?, line? }],
 *     "load_errors": n, "selection"?: { selected, tests?, units?, fingerprint? },
 *     "counts": { run, failures, errors, skipped, expected_failures, unexpected_successes } }
 * `tests` has one entry per outcome unittest reported (each failing subtest
 * one); `counts` are unittest's own figures, taken as they are. Import
 * failures during discovery are among both (as errors).
 */
export function parseUnittestResults(json: string): {
  tests: TestCaseResult[];
  counts: TestCounts;
  selection?: TestSelection;
} {
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
  const counts = toCounts(data.counts);
  return data.selection === undefined ? { tests, counts } : { tests, counts, selection: toSelection(data.selection) };
}

function toSelection(value: unknown): TestSelection {
  if (!isRecord(value)) throw new Error('unittest results: "selection" must be an object');
  const { selected, tests, fingerprint } = value;
  const count = (n: unknown, where: string) => {
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new Error(`unittest results: selection.${where} must be a non-negative integer`);
    }
    return n;
  };
  return {
    selected: count(selected, "selected"),
    ...(tests !== undefined ? { tests: count(tests, "tests") } : {}),
    ...(fingerprint !== undefined ? { fingerprint: expectString(fingerprint, "selection.fingerprint") } : {}),
  };
}

const OUTCOMES: readonly TestOutcome[] = ["pass", "fail", "error", "skip", "expected_failure", "unexpected_success"];

function toTestCase(entry: unknown, where: string): TestCaseResult {
  if (!isRecord(entry)) throw new Error(`unittest results: ${where} must be an object`);
  const { id, outcome, duration_ms: durationMs, subtest, module, message, traceback, file, line } = entry;
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
  if (subtest !== undefined) result.subtest = expectString(subtest, `${where}.subtest`);
  if (module !== undefined) result.module = expectString(module, `${where}.module`);
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

/** unittest's figures, with the runner's snake_case names. */
const COUNTS = {
  run: "run",
  failures: "failures",
  errors: "errors",
  skipped: "skipped",
  expectedFailures: "expected_failures",
  unexpectedSuccesses: "unexpected_successes",
} as const satisfies Record<keyof TestCounts, string>;

function toCounts(value: unknown): TestCounts {
  if (!isRecord(value)) throw new Error('unittest results: "counts" must be an object');
  const counts = {} as TestCounts;
  for (const [name, key] of Object.entries(COUNTS) as [keyof TestCounts, string][]) {
    const n = value[key];
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0) {
      throw new Error(`unittest results: counts.${key} must be a non-negative integer`);
    }
    counts[name] = n;
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
