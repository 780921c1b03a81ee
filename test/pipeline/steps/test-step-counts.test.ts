import { afterEach, describe, expect, it } from "vitest";
import { describeTestCounts } from "../../../src/pipeline/describe-test-counts.js";
import { testStep } from "../../../src/pipeline/steps/test.js";
import type { StepResult, TestOutcome } from "../../../src/pipeline/types.js";
import { annotationsFor } from "../../../src/report/annotations.js";
import { summaryMarkdown } from "../../../src/report/summary-markdown.js";
import { PYTHON3, stepContext } from "../../support/step-context.js";
import { runUnittest } from "../../support/unittest-summary.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** pyci's test step and `python -m unittest` on the same generated repository. */
async function both(files: Record<string, string>) {
  const fixture = stepContext(files);
  cleanups.push(fixture.remove);
  const unittest = runUnittest(PYTHON3, fixture.repo.dir);
  const result = await testStep.run(fixture.ctx);
  return { result, unittest };
}

const outcomes = (result: StepResult, outcome: TestOutcome) =>
  (result.tests ?? []).filter((t) => t.outcome === outcome);

/** The reproduction, and a subtest of each other kind beside it. */
const SUBTESTS = {
  "tests/__init__.py": "",
  "tests/test_loop.py": `import unittest


class LoopTest(unittest.TestCase):
    def test_less(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 1)

    def test_kinds(self):
        for kind in ["pass", "skip", "error", "fail"]:
            with self.subTest("kind", kind=kind):
                if kind == "skip":
                    self.skipTest("skipped " + kind)
                if kind == "error":
                    raise KeyError(kind)
                self.assertNotEqual(kind, "fail")

    def test_all_pass(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertGreaterEqual(i, 0)
`,
};

/** A base class imported into a second test module: unittest runs its test in both. */
const REEXPORTED = {
  "tests/__init__.py": "",
  "tests/test_a.py": `import unittest


class Base(unittest.TestCase):
    def test_value(self):
        self.assertEqual(1, 2)

    def test_fine(self):
        pass
`,
  "tests/test_b.py": "from tests.test_a import Base  # noqa: F401\n",
};

describe("testStep counts, compared with python -m unittest", () => {
  it("counts each failing subtest as a failure, with its own parameters, traceback and annotation", async () => {
    const { result, unittest } = await both(SUBTESTS);
    expect(result.testCounts).toEqual(unittest.counts);
    expect(result.summary).toBe(describeTestCounts(unittest.counts));
    expect(result.state).toBe("failure");
    expect(outcomes(result, "fail")).toHaveLength(unittest.counts.failures);
    expect(outcomes(result, "error")).toHaveLength(unittest.counts.errors);
    expect(outcomes(result, "skip")).toHaveLength(unittest.counts.skipped);

    const less = (result.tests ?? []).filter((t) => t.id === "tests.test_loop.LoopTest.test_less");
    expect(less.map((t) => [t.subtest, t.outcome, t.message, t.line])).toEqual([
      ["(i=1)", "fail", "AssertionError: 1 not less than 1", 8],
      ["(i=2)", "fail", "AssertionError: 2 not less than 1", 8],
    ]);
    expect(less[0]?.traceback).toContain("AssertionError: 1 not less than 1");
    expect(less[0]?.traceback).not.toContain("2 not less than 1");

    const failing = annotationsFor([result]).filter((a) => a.annotation_level === "failure");
    expect(failing).toHaveLength(unittest.counts.failures + unittest.counts.errors);
    expect(failing.map((a) => a.title)).toContain("tests.test_loop.LoopTest.test_less (i=2) failed");
    expect(new Set(failing.map((a) => a.title)).size).toBe(failing.length);
    expect(summaryMarkdown([result])).toContain(
      `### Failing tests (${unittest.counts.failures + unittest.counts.errors})`,
    );
  });

  it("says '2 failures in 1 test' of the issue's loop, as unittest says FAILED (failures=2) of 1 test", async () => {
    const { result, unittest } = await both({
      "test_loop.py": `import unittest


class LoopTest(unittest.TestCase):
    def test_less(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 1)
`,
    });
    expect(unittest.counts).toMatchObject({ run: 1, failures: 2 });
    expect(result.testCounts).toEqual(unittest.counts);
    expect(result.summary).toBe("2 failures in 1 test");
  });

  it("keeps a test run from two modules as two results and says from which module each ran", async () => {
    const { result, unittest } = await both(REEXPORTED);
    expect(result.testCounts).toEqual(unittest.counts);
    expect(result.summary).toBe(describeTestCounts(unittest.counts));
    const runs = (result.tests ?? []).filter((t) => t.id === "tests.test_a.Base.test_value");
    const ranByUnittest = unittest.output.match(/^test_value \(tests\.test_a\.Base\.test_value\) \.\.\. FAIL$/gm);
    expect(runs).toHaveLength(ranByUnittest?.length ?? 0);
    expect(runs.map((t) => t.module)).toEqual([undefined, "tests.test_b"]);

    const titles = annotationsFor([result]).map((a) => a.title);
    expect(titles).toEqual([
      "tests.test_a.Base.test_value failed",
      "tests.test_a.Base.test_value (run from tests.test_b) failed",
    ]);
    expect(summaryMarkdown([result])).toContain("**tests.test_a.Base.test_value (run from tests.test_b)** (failed)");
  });

  it("passes a suite whose subtests pass, with unittest's figures", async () => {
    const { result, unittest } = await both({
      "test_ok.py": `import unittest


class OkTest(unittest.TestCase):
    def test_loop(self):
        for i in range(5):
            with self.subTest(i=i):
                if i == 4:
                    self.skipTest("four")
                self.assertGreaterEqual(i, 0)

    @unittest.expectedFailure
    def test_known(self):
        self.assertEqual(1, 2)
`,
    });
    expect(result.state).toBe("success");
    expect(result.testCounts).toEqual(unittest.counts);
    expect(result.summary).toBe(describeTestCounts(unittest.counts));
  });
});
