import type { TestCaseResult, TestCounts, TestOutcome } from "./types.js";

/** What runs of pyci's unittest runner reported: their exit code, tests and unittest's figures. */
export interface TestRun {
  exitCode: number;
  tests: TestCaseResult[];
  counts: TestCounts;
}

/** The runner's exit codes: all passed, some did not, none found. */
const EXIT_OK = 0;
const EXIT_TESTS_FAILED = 1;
const EXIT_NO_TESTS = 5;

const FAILING: readonly TestOutcome[] = ["fail", "error", "unexpected_success"];

/** Whether a result makes the run fail: a failure, an error or an unexpected success. */
export function isFailing(t: Pick<TestCaseResult, "outcome">): boolean {
  return FAILING.includes(t.outcome);
}

/**
 * The runs of the shares of one suite as one run: their tests one after
 * the other, unittest's figures added up (each test ran in exactly one
 * share), the exit code a single run would have had.
 */
export function mergeTestRuns(runs: TestRun[]): TestRun {
  const counts = zeroCounts();
  for (const run of runs) for (const key of COUNT_KEYS) counts[key] += run.counts[key];
  const exitCode = runs.some((r) => r.exitCode === EXIT_TESTS_FAILED)
    ? EXIT_TESTS_FAILED
    : runs.every((r) => r.exitCode === EXIT_NO_TESTS)
      ? EXIT_NO_TESTS
      : EXIT_OK;
  return { exitCode, tests: runs.flatMap((r) => r.tests), counts };
}

/**
 * `run` with the tests that passed when run again `alone` counted as they
 * did alone, each flagged with how it failed beside the others. A test
 * passed alone when it has results there and none of them fails; when the
 * re-run reports a failure of something else (a setUpClass of their
 * class), nothing is taken from it. Each test ran once in each run, so
 * `run` stays; the other figures follow the results swapped.
 */
export function passedAlone(run: TestRun, alone: TestRun): TestRun {
  const retried = new Set(run.tests.filter(isFailing).map((t) => t.id));
  if (alone.tests.some((t) => isFailing(t) && !retried.has(t.id))) return run;
  const byId = new Map<string, TestCaseResult[]>();
  for (const t of alone.tests) byId.set(t.id, [...(byId.get(t.id) ?? []), t]);
  const passed = new Set(
    [...byId].filter(([id, results]) => retried.has(id) && !results.some(isFailing)).map(([id]) => id),
  );
  if (passed.size === 0) return run;

  const counts = { ...run.counts };
  const tests: TestCaseResult[] = [];
  for (const t of run.tests) {
    if (!passed.has(t.id)) {
      tests.push(t);
      continue;
    }
    count(counts, t.outcome, -1);
    const instead = byId.get(t.id);
    if (!instead) continue; // already put in place of an earlier result of the same test
    byId.delete(t.id);
    const failure = run.tests.find((r) => r.id === t.id && isFailing(r))!;
    const onlyInParallel = {
      outcome: failure.outcome,
      ...(failure.message !== undefined ? { message: failure.message } : {}),
      ...(failure.file !== undefined ? { file: failure.file } : {}),
      ...(failure.line !== undefined ? { line: failure.line } : {}),
    };
    for (const result of instead) {
      count(counts, result.outcome, 1);
      tests.push({ ...result, onlyInParallel });
    }
  }
  const stillFailing = counts.failures + counts.errors + counts.unexpectedSuccesses > 0;
  return { exitCode: stillFailing ? EXIT_TESTS_FAILED : EXIT_OK, tests, counts };
}

const COUNT_KEYS = ["run", "failures", "errors", "skipped", "expectedFailures", "unexpectedSuccesses"] as const;

/** Which of unittest's figures a result adds to (a pass is in none but `run`, which counts tests, not results). */
const COUNTED: Record<TestOutcome, keyof TestCounts | undefined> = {
  pass: undefined,
  fail: "failures",
  error: "errors",
  skip: "skipped",
  expected_failure: "expectedFailures",
  unexpected_success: "unexpectedSuccesses",
};

function count(counts: TestCounts, outcome: TestOutcome, by: number): void {
  const key = COUNTED[outcome];
  if (key) counts[key] += by;
}

function zeroCounts(): TestCounts {
  return { run: 0, failures: 0, errors: 0, skipped: 0, expectedFailures: 0, unexpectedSuccesses: 0 };
}
