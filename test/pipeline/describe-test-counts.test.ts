import { describe, expect, it } from "vitest";
import { describeTestCounts } from "../../src/pipeline/describe-test-counts.js";
import type { TestCounts } from "../../src/pipeline/types.js";

const counts = (over: Partial<TestCounts>): TestCounts => ({
  run: 0,
  failures: 0,
  errors: 0,
  skipped: 0,
  expectedFailures: 0,
  unexpectedSuccesses: 0,
  ...over,
});

describe("describeTestCounts", () => {
  it.each([
    [counts({}), "No tests found"],
    [counts({ run: 901 }), "901 tests passed"],
    [counts({ run: 1 }), "1 test passed"],
    [counts({ run: 15, skipped: 3 }), "15 tests ran, 3 skipped"],
    [counts({ run: 4, skipped: 1, expectedFailures: 1 }), "4 tests ran, 1 skipped, 1 expected failure"],
    [counts({ run: 3, skipped: 3 }), "3 tests ran, 3 skipped"],
    [counts({ run: 1, failures: 2 }), "2 failures in 1 test"],
    [counts({ run: 903, failures: 2 }), "2 failures in 903 tests"],
    [counts({ run: 903, failures: 2, errors: 1 }), "2 failures, 1 error in 903 tests"],
    [counts({ run: 10, errors: 2 }), "2 errors in 10 tests"],
    [counts({ run: 0, errors: 1 }), "1 error in 0 tests"],
    [counts({ run: 10, unexpectedSuccesses: 1 }), "1 unexpected success in 10 tests"],
    [
      counts({ run: 10, failures: 2, errors: 4, skipped: 1, expectedFailures: 1, unexpectedSuccesses: 1 }),
      "2 failures, 4 errors, 1 unexpected success in 10 tests, 1 skipped, 1 expected failure",
    ],
  ])("%j -> %s", (c, expected) => {
    expect(describeTestCounts(c)).toBe(expected);
  });

  it("stays within 140 characters", () => {
    const huge = 10 ** 15;
    const line = describeTestCounts(
      counts({
        run: huge,
        failures: huge,
        errors: huge,
        skipped: huge,
        expectedFailures: huge,
        unexpectedSuccesses: huge,
      }),
    );
    expect(line.length).toBeLessThanOrEqual(140);
    expect(line.startsWith(`${huge} failures, ${huge} errors`)).toBe(true);
  });
});
