import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { describeTestCounts, parseUnittestResults } from "../../../src/pipeline/parsers/unittest-results.js";
import type { TestCounts } from "../../../src/pipeline/types.js";

/**
 * Fixtures recorded by running python/pyci_unittest.py (CPython 3.11):
 * - mixed: a repository (/tmp/pyci-sample) with a passing test that prints, a failing
 *   assert, an error raised inside the package, a skip, an expected failure, an
 *   unexpected success, failing subtests, a failing setUpClass, a module with a
 *   missing import and a module with a syntax error;
 * - passing: two passing tests and a skip; empty: a directory without tests.
 */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8");

const counts = (over: Partial<TestCounts>): TestCounts => ({
  total: 0,
  passed: 0,
  failed: 0,
  errors: 0,
  skipped: 0,
  expectedFailures: 0,
  unexpectedSuccesses: 0,
  ...over,
});

describe("parseUnittestResults", () => {
  it("maps every outcome of the mixed fixture and counts them", () => {
    const { tests, counts: c } = parseUnittestResults(fixture("unittest-results-mixed.json"));
    expect(c).toEqual(
      counts({ total: 10, passed: 1, failed: 2, errors: 4, skipped: 1, expectedFailures: 1, unexpectedSuccesses: 1 }),
    );
    const byId = new Map(tests.map((t) => [t.id, t]));

    const fail = byId.get("tests.test_mixed.MixedTest.test_fail");
    expect(fail).toMatchObject({
      outcome: "fail",
      message: "AssertionError: 3 != 4",
      file: "tests/test_mixed.py",
      line: 13,
    });
    expect(fail?.traceback).toContain("self.assertEqual(add(1, 2), 4)");
    expect(fail?.durationMs).toBeGreaterThan(0);

    expect(byId.get("tests.test_mixed.MixedTest.test_error")).toMatchObject({
      outcome: "error",
      message: "ValueError: boom from pkg",
      file: "pkg/__init__.py",
      line: 5,
    });
    expect(byId.get("tests.test_mixed.MixedTest.test_skip")).toMatchObject({ outcome: "skip", message: "not today" });
    expect(byId.get("tests.test_mixed.MixedTest.test_xfail")?.outcome).toBe("expected_failure");
    expect(byId.get("tests.test_mixed.MixedTest.test_xpass")?.outcome).toBe("unexpected_success");
    expect(byId.get("tests.test_mixed.MixedTest.test_pass")).toEqual({
      id: "tests.test_mixed.MixedTest.test_pass",
      outcome: "pass",
      durationMs: expect.any(Number),
    });
  });

  it("reports failing subtests as a failure of the parent test", () => {
    const { tests } = parseUnittestResults(fixture("unittest-results-mixed.json"));
    const parent = tests.find((t) => t.id === "tests.test_mixed.MixedTest.test_subtests");
    expect(parent).toMatchObject({ outcome: "fail", file: "tests/test_mixed.py", line: 33 });
    expect(parent?.message).toBe("subtest (i=2): AssertionError: 2 not less than 2 (and 1 more)");
    expect(tests.filter((t) => t.id.includes("test_subtests"))).toHaveLength(1);
  });

  it("reports import and syntax errors in test modules as errors at the module's line", () => {
    const { tests } = parseUnittestResults(fixture("unittest-results-mixed.json"));
    expect(tests.find((t) => t.id === "tests.test_broken")).toMatchObject({
      outcome: "error",
      message: "ModuleNotFoundError: No module named 'does_not_exist'",
      file: "tests/test_broken.py",
      line: 2,
    });
    expect(tests.find((t) => t.id === "tests.test_syntax")).toMatchObject({
      outcome: "error",
      message: "SyntaxError: invalid syntax",
      file: "tests/test_syntax.py",
      line: 1,
    });
    expect(tests.find((t) => t.id === "setUpClass (tests.test_mixed.BrokenSetup)")).toMatchObject({
      outcome: "error",
      message: "RuntimeError: no database",
      file: "tests/test_mixed.py",
      line: 39,
    });
  });

  it("parses a passing run and an empty run", () => {
    expect(parseUnittestResults(fixture("unittest-results-passing.json")).counts).toEqual(
      counts({ total: 3, passed: 2, skipped: 1 }),
    );
    expect(parseUnittestResults(fixture("unittest-results-empty.json"))).toEqual({ tests: [], counts: counts({}) });
  });

  it("rejects garbage with a clear error", () => {
    expect(() => parseUnittestResults("Traceback (most recent call last):")).toThrow(/not valid JSON/);
    expect(() => parseUnittestResults("[]")).toThrow(/expected a JSON object/);
    expect(() => parseUnittestResults('{"tests": {}, "load_errors": 0}')).toThrow(/"tests" must be an array/);
    expect(() => parseUnittestResults('{"tests": []}')).toThrow(/"load_errors"/);
    expect(() =>
      parseUnittestResults('{"tests": [{"id": "a", "outcome": "passed", "duration_ms": 1}], "load_errors": 0}'),
    ).toThrow(/tests\[0\]\.outcome must be one of pass, fail/);
    expect(() => parseUnittestResults('{"tests": [{"id": "a", "outcome": "pass"}], "load_errors": 0}')).toThrow(
      /tests\[0\]\.duration_ms/,
    );
    expect(() =>
      parseUnittestResults(
        '{"tests": [{"id": "a", "outcome": "fail", "duration_ms": 1, "line": "3"}], "load_errors": 0}',
      ),
    ).toThrow(/tests\[0\]\.line must be a positive integer/);
  });
});

describe("describeTestCounts", () => {
  it.each([
    [counts({}), "No tests found"],
    [counts({ total: 901, passed: 901 }), "901 tests passed"],
    [counts({ total: 1, passed: 1 }), "1 test passed"],
    [counts({ total: 15, passed: 12, skipped: 3 }), "12 tests passed, 3 skipped"],
    [counts({ total: 4, passed: 2, skipped: 1, expectedFailures: 1 }), "2 tests passed, 1 skipped, 1 expected failure"],
    [counts({ total: 3, skipped: 3 }), "0 tests passed, 3 skipped"],
    [counts({ total: 903, passed: 901, failed: 2 }), "2 of 903 failed"],
    [counts({ total: 903, passed: 900, failed: 2, errors: 1 }), "2 of 903 failed, 1 error"],
    [counts({ total: 10, passed: 8, errors: 2 }), "2 errors in 10 tests"],
    [counts({ total: 10, passed: 9, unexpectedSuccesses: 1 }), "1 unexpected success in 10 tests"],
    [
      counts({ total: 10, passed: 1, failed: 2, errors: 4, skipped: 1, expectedFailures: 1, unexpectedSuccesses: 1 }),
      "2 of 10 failed, 4 errors, 1 unexpected success, 1 skipped, 1 expected failure",
    ],
  ])("%j -> %s", (c, expected) => {
    expect(describeTestCounts(c)).toBe(expected);
  });

  it("stays within 140 characters", () => {
    const huge = 10 ** 15;
    const line = describeTestCounts(
      counts({
        total: huge,
        failed: huge,
        errors: huge,
        skipped: huge,
        expectedFailures: huge,
        unexpectedSuccesses: huge,
      }),
    );
    expect(line.length).toBeLessThanOrEqual(140);
    expect(line.startsWith(`${huge} of ${huge} failed`)).toBe(true);
  });
});
