import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseUnittestResults } from "../../../src/pipeline/parsers/unittest-results.js";
import type { TestCounts } from "../../../src/pipeline/types.js";

/**
 * Fixtures recorded by running python/pyci_unittest.py (CPython 3.11):
 * - mixed: a repository (/tmp/pyci-sample) with a passing test that prints, a failing
 *   assert, an error raised inside the package, a skip, an expected failure, an
 *   unexpected success, a test whose subtests pass, skip, fail and raise, a failing
 *   setUpClass, a module with a missing import, a module with a syntax error, and a
 *   base class run again from a second module that imports it (tests/test_b.py);
 *   `python -m unittest` says of it: Ran 11 tests … FAILED (failures=2, errors=5,
 *   skipped=2, expected failures=1, unexpected successes=1);
 * - passing: two passing tests and a skip; empty: a directory without tests.
 */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8");

const counts = (over: Partial<TestCounts>): TestCounts => ({
  run: 0,
  failures: 0,
  errors: 0,
  skipped: 0,
  expectedFailures: 0,
  unexpectedSuccesses: 0,
  ...over,
});

describe("parseUnittestResults", () => {
  it("maps every outcome of the mixed fixture and takes unittest's counts", () => {
    const { tests, counts: c } = parseUnittestResults(fixture("unittest-results-mixed.json"));
    expect(c).toEqual(
      counts({ run: 11, failures: 2, errors: 5, skipped: 2, expectedFailures: 1, unexpectedSuccesses: 1 }),
    );
    const byId = new Map(tests.filter((t) => !t.subtest).map((t) => [t.id, t]));

    const fail = byId.get("tests.test_mixed.MixedTest.test_fail");
    expect(fail).toMatchObject({
      outcome: "fail",
      message: "AssertionError: 3 != 4",
      file: "tests/test_mixed.py",
      line: 11,
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

  it("reports each failing, erroring or skipped subtest as a result of its own", () => {
    const { tests } = parseUnittestResults(fixture("unittest-results-mixed.json"));
    const subtests = tests.filter((t) => t.id === "tests.test_mixed.MixedTest.test_subtests");
    expect(subtests.map((t) => [t.subtest, t.outcome, t.message, t.file, t.line])).toEqual([
      ["(i=1)", "skip", "odd one", undefined, undefined],
      ["(i=2)", "fail", "AssertionError: 2 not less than 2", "tests/test_mixed.py", 35],
      ["(i=3)", "error", "KeyError: 3", "tests/test_mixed.py", 34],
    ]);
    expect(subtests[1]?.traceback).toContain("self.assertLess(i, 2)");
    expect(subtests[1]?.traceback).not.toContain("KeyError");
  });

  it("keeps a test run from two modules as two results, naming the second module", () => {
    const { tests } = parseUnittestResults(fixture("unittest-results-mixed.json"));
    expect(tests.filter((t) => t.id === "tests.test_a.Base.test_value")).toEqual([
      { id: "tests.test_a.Base.test_value", outcome: "pass", durationMs: expect.any(Number) },
      { id: "tests.test_a.Base.test_value", module: "tests.test_b", outcome: "pass", durationMs: expect.any(Number) },
    ]);
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
      line: 41,
    });
  });

  it("parses a passing run and an empty run", () => {
    expect(parseUnittestResults(fixture("unittest-results-passing.json")).counts).toEqual(
      counts({ run: 3, skipped: 1 }),
    );
    expect(parseUnittestResults(fixture("unittest-results-empty.json"))).toEqual({ tests: [], counts: counts({}) });
  });

  it("rejects garbage with a clear error", () => {
    expect(() => parseUnittestResults("Traceback (most recent call last):")).toThrow(/not valid JSON/);
    expect(() => parseUnittestResults("[]")).toThrow(/expected a JSON object/);
    expect(() => parseUnittestResults('{"tests": {}, "load_errors": 0}')).toThrow(/"tests" must be an array/);
    expect(() => parseUnittestResults('{"tests": []}')).toThrow(/"load_errors"/);
    expect(() => parseUnittestResults('{"tests": [], "load_errors": 0}')).toThrow(/"counts" must be an object/);
    expect(() => parseUnittestResults('{"tests": [], "load_errors": 0, "counts": {"run": 1, "failures": -1}}')).toThrow(
      /counts.failures must be a non-negative integer/,
    );
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
