import { plural } from "../text/plural.js";
import type { TestCounts } from "./types.js";

/**
 * unittest's figures in one line, the one wording of test counts pyci uses
 * everywhere (commit status, check run, build page, CLI), at most the 140
 * characters a commit status takes:
 *
 * - nothing ran: "No tests found";
 * - failures, errors or unexpected successes: what went wrong in how many
 *   tests, then the skips: "2 failures in 1 test", "1 error in 10 tests",
 *   "2 failures, 1 error in 903 tests, 3 skipped";
 * - else "901 tests passed", or with skips or expected failures
 *   "15 tests ran, 3 skipped, 1 expected failure".
 *
 * The numbers are unittest's own (`Ran 1 test … FAILED (failures=2)`): a
 * failing subtest is a failure, so a test can have several.
 */
export function describeTestCounts(counts: TestCounts): string {
  const problems: string[] = [];
  if (counts.failures > 0) problems.push(plural(counts.failures, "failure"));
  if (counts.errors > 0) problems.push(plural(counts.errors, "error"));
  if (counts.unexpectedSuccesses > 0)
    problems.push(plural(counts.unexpectedSuccesses, "unexpected success", "unexpected successes"));
  const extras: string[] = [];
  if (counts.skipped > 0) extras.push(`${counts.skipped} skipped`);
  if (counts.expectedFailures > 0) extras.push(plural(counts.expectedFailures, "expected failure"));

  if (counts.run === 0 && problems.length === 0 && extras.length === 0) return "No tests found";
  const tests = plural(counts.run, "test");
  const head =
    problems.length > 0 ? `${problems.join(", ")} in ${tests}` : extras.length > 0 ? `${tests} ran` : `${tests} passed`;
  const line = [head, ...extras].join(", ");
  return line.length <= 140 ? line : `${line.slice(0, 139)}…`;
}
