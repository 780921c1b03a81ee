import { afterEach, describe, expect, it } from "vitest";
import { describeTestCounts } from "../../../src/pipeline/describe-test-counts.js";
import { testStep } from "../../../src/pipeline/steps/test.js";
import type { RepoConfig, StepResult } from "../../../src/pipeline/types.js";
import { annotationsFor } from "../../../src/report/annotations.js";
import { summaryMarkdown } from "../../../src/report/summary-markdown.js";
import { PYTHON3, stepContext } from "../../support/step-context.js";
import { runUnittest } from "../../support/unittest-summary.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function fixture(
  files: Record<string, string>,
  parallel: RepoConfig["test"]["parallel"],
  durations?: Map<string, number>,
) {
  const made = stepContext(files, { repoConfig: { test: { startDir: ".", pattern: "test*.py", parallel } } });
  cleanups.push(made.remove);
  if (durations) made.ctx.testDurations = durations;
  return made;
}

/** Every kind of result unittest has, and each thing it does once per module or class. */
const SUITE = {
  "tests/__init__.py": "",
  "tests/test_kinds.py": `import unittest


class Kinds(unittest.TestCase):
    def test_pass(self):
        pass

    def test_fail(self):
        self.assertEqual(1, 2)

    def test_error(self):
        raise KeyError("x")

    @unittest.skip("not today")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_known(self):
        self.fail()

    @unittest.expectedFailure
    def test_surprise(self):
        pass


class Loop(unittest.TestCase):
    def test_less(self):
        for i in range(3):
            with self.subTest(i=i):
                self.assertLess(i, 1)
`,
  "tests/test_module_fixture.py": `import unittest


def setUpModule():
    raise RuntimeError("no database")


class First(unittest.TestCase):
    def test_one(self):
        pass


class Second(unittest.TestCase):
    def test_two(self):
        pass
`,
  "tests/test_class_fixture.py": `import unittest


class Broken(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        raise ValueError("no server")

    def test_a(self):
        pass

    def test_b(self):
        pass


class Fine(unittest.TestCase):
    def test_c(self):
        pass
`,
  "tests/test_missing.py": "import not_a_module_anywhere\n",
  "tests/test_more.py": `import unittest


class More(unittest.TestCase):
    def test_a(self):
        pass

    def test_b(self):
        pass
`,
};

const key = (t: NonNullable<StepResult["tests"]>[number]) => `${t.id} ${t.subtest ?? ""} ${t.outcome}`;

describe("testStep with test.parallel", () => {
  it.each([2, 3])("gives in %i processes exactly the figures and results of a serial run", async (processes) => {
    const unittest = runUnittest(PYTHON3, fixture(SUITE, undefined).repo.dir);
    const serial = await testStep.run(fixture(SUITE, undefined).ctx);
    const parallel = fixture(SUITE, processes);
    const result = await testStep.run(parallel.ctx);

    expect(result.testCounts).toEqual(unittest.counts);
    expect(result.testCounts).toEqual(serial.testCounts);
    expect(result.summary).toBe(describeTestCounts(unittest.counts));
    expect(result.state).toBe("failure");
    expect((result.tests ?? []).map(key).sort()).toEqual((serial.tests ?? []).map(key).sort());
    // each process's console is in the log in one piece, its tests' lines with it
    const log = parallel.log();
    for (let i = 1; i <= processes; i++) expect(log).toContain(`── tests, process ${i} of ${processes} ──`);
    expect(log).toContain("test_pass (tests.test_kinds.Kinds.test_pass) ... ok");
    // the failures were run again alone, and failed again: nothing is flagged
    expect(log).toContain("── run again alone:");
    expect((result.tests ?? []).filter((t) => t.onlyInParallel)).toEqual([]);
  });

  it("balances the processes by earlier durations: the long class alone in one process", async () => {
    const serial = await testStep.run(fixture(SUITE, undefined).ctx);
    const durations = new Map(
      (serial.tests ?? []).map((t) => [t.id, t.id.startsWith("tests.test_more.") ? 60_000 : 1]),
    );
    const parallel = fixture(SUITE, 2, durations);
    const result = await testStep.run(parallel.ctx);
    expect(result.testCounts?.run).toBe(runUnittest(PYTHON3, parallel.repo.dir).counts.run);
    const blocks = parallel.log().split("\n── ");
    const withMore = blocks.filter((b) => b.includes("tests.test_more.More"));
    expect(withMore).toHaveLength(1);
    expect(withMore[0]).not.toMatch(/tests\.test_(?!more\.)/);
  });

  it("counts a test that fails only beside another process as passed, and flags it", async () => {
    const result = await testStep.run(fixture(SHARED_STATE, 2).ctx);
    expect(result.state).toBe("success");
    expect(result.testCounts).toEqual({
      run: 2,
      failures: 0,
      errors: 0,
      skipped: 0,
      expectedFailures: 0,
      unexpectedSuccesses: 0,
    });
    const flagged = (result.tests ?? []).filter((t) => t.onlyInParallel);
    expect(flagged.map((t) => [t.id, t.outcome, t.onlyInParallel?.outcome, t.onlyInParallel?.line])).toEqual([
      ["tests.test_a.UsesTheFile.test_alone", "pass", "fail", 18],
    ]);
    const warnings = annotationsFor([result]).filter((a) => a.annotation_level === "warning");
    expect(warnings.map((a) => [a.title, a.path, a.start_line])).toEqual([
      ["tests.test_a.UsesTheFile.test_alone fails only in parallel", "tests/test_a.py", 18],
    ]);
    expect(summaryMarkdown([result])).toContain("### Failing only in parallel (1)\n");
  });
});

/**
 * test_alone fails when the other test runs at the same time (it finds that
 * test's file) and passes alone (it waits for the file in vain).
 */
const SHARED_STATE = {
  "tests/__init__.py": "",
  "tests/test_a.py": `import os
import tempfile
import time
import unittest

SHARED = os.path.join(tempfile.gettempdir(), "shared.lock")
SEEN = os.path.join(tempfile.gettempdir(), "seen")


class UsesTheFile(unittest.TestCase):
    def test_alone(self):
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not os.path.exists(SHARED):
            time.sleep(0.05)
        found = os.path.exists(SHARED)
        if found:
            open(SEEN, "w").close()
        self.assertFalse(found, "another process holds the file")
`,
  "tests/test_b.py": `import os
import tempfile
import time
import unittest

SHARED = os.path.join(tempfile.gettempdir(), "shared.lock")
SEEN = os.path.join(tempfile.gettempdir(), "seen")


class HoldsTheFile(unittest.TestCase):
    def test_hold(self):
        open(SHARED, "w").close()
        try:
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and not os.path.exists(SEEN):
                time.sleep(0.05)
        finally:
            os.remove(SHARED)
`,
};
