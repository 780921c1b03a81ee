import { describe, expect, it } from "vitest";
import { parallelSavingNote } from "../../src/pipeline/parallel-saving.js";
import type { TestCaseResult } from "../../src/pipeline/types.js";
import { testProcesses } from "../../src/pipeline/test-processes.js";

/** `classes` classes of `each` tests of `ms` each. */
function tests(classes: number, each: number, ms: number): TestCaseResult[] {
  return Array.from({ length: classes * each }, (_, i) => ({
    id: `tests.test_m${i % classes}.C.test_${i}`,
    outcome: "pass" as const,
    durationMs: ms,
  }));
}

describe("parallelSavingNote", () => {
  it("says what a long step of many classes would likely take in parallel", () => {
    // 8 classes of 10 tests of 1 s, 5 s outside tests: 85 s serial, 4 × 10 s + 5 s in 4 processes
    expect(parallelSavingNote(tests(8, 10, 1000), 85_000, 4)).toBe(
      "The tests took 85 s in one process; with test.parallel: auto in .github/pyci.yml (4 processes on this server) they would likely take about 25 s.",
    );
  });

  it("says nothing of a short step, one CPU, or a suite that is one long class", () => {
    expect(parallelSavingNote(tests(8, 10, 100), 8_500, 4)).toBeUndefined();
    expect(parallelSavingNote(tests(8, 10, 1000), 85_000, 1)).toBeUndefined();
    expect(parallelSavingNote(tests(1, 80, 1000), 85_000, 4)).toBeUndefined();
  });

  it("counts a test of several subtest results once", () => {
    const subtests = tests(2, 1, 40_000).flatMap((t) => [t, { ...t, subtest: "(i=1)", outcome: "fail" as const }]);
    expect(parallelSavingNote(subtests, 80_000, 2)).toContain("about 40 s");
  });
});

describe("testProcesses", () => {
  it("is one unless asked, the number asked, or the CPUs up to 8 for auto", () => {
    expect(testProcesses(undefined, 4)).toBe(1);
    expect(testProcesses(3, 16)).toBe(3);
    expect(testProcesses("auto", 2)).toBe(2);
    expect(testProcesses("auto", 64)).toBe(8);
  });
});
