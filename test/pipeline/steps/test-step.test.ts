import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { testStep } from "../../../src/pipeline/steps/test.js";
import { openStepLog } from "../../../src/store/step-log.js";
import type { RepoConfig } from "../../../src/pipeline/types.js";
import { stepContext } from "../../support/step-context.js";

/** python3 from PATH, resolved once: the pyenv shim costs a few hundred ms per start. */

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function context(
  files: Record<string, string>,
  options: { test?: Partial<RepoConfig["test"]>; timeoutMs?: number; python?: string } = {},
) {
  const fixture = stepContext(files, {
    repoConfig: { test: { startDir: ".", pattern: "test*.py", ...options.test } },
    timeoutMs: options.timeoutMs ?? 30_000,
    ...(options.python ? { python: options.python } : {}),
  });
  cleanups.push(fixture.remove);
  return { ctx: fixture.ctx, repo: fixture.repo, log: fixture.log };
}

/** Whether a process runs (a zombie waiting for its reaper does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

const CALC = `def add(a, b):
    return a + b
`;

describe("testStep", () => {
  it("passes a passing suite and reports each test", async () => {
    const { ctx, log } = context({
      "calc.py": CALC,
      "test_calc.py": `import unittest
from calc import add


class AddTest(unittest.TestCase):
    def test_small(self):
        self.assertEqual(add(1, 2), 3)

    def test_negative(self):
        self.assertEqual(add(-1, -2), -3)
`,
    });
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({ name: "test", state: "success", summary: "2 tests passed", exitCode: 0 });
    expect(result.testCounts).toEqual({
      run: 2,
      failures: 0,
      errors: 0,
      skipped: 0,
      expectedFailures: 0,
      unexpectedSuccesses: 0,
    });
    expect(result.tests?.map((t) => t.id).sort()).toEqual([
      "test_calc.AddTest.test_negative",
      "test_calc.AddTest.test_small",
    ]);
    expect(result.durationMs).toBeGreaterThan(0);
    expect(log()).toContain("test_small (test_calc.AddTest.test_small) ... ok");
    expect(log()).toMatch(/Ran 2 tests in/);
    expect(existsSync(join(ctx.scratchDir, "unittest-results.json"))).toBe(true);
    expect(existsSync(join(ctx.dir, "unittest-results.json"))).toBe(false);
  });

  it("fails on a failing assert and points at its line in the repository", async () => {
    const { ctx, log } = context({
      "calc.py": CALC,
      "tests/__init__.py": "",
      "tests/test_calc.py": `import unittest
from calc import add


class AddTest(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(add(2, 2), 4)

    def test_wrong(self):
        total = add(1, 2)
        self.assertEqual(total, 4)
`,
    });
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({ state: "failure", summary: "1 failure in 2 tests", exitCode: 1 });
    const failed = result.tests?.find((t) => t.outcome === "fail");
    expect(failed).toMatchObject({
      id: "tests.test_calc.AddTest.test_wrong",
      message: "AssertionError: 3 != 4",
      file: "tests/test_calc.py",
      line: 11,
    });
    expect(failed?.traceback).toContain("self.assertEqual(total, 4)");
    expect(log()).toContain("FAIL: test_wrong (tests.test_calc.AddTest.test_wrong)");
  });

  it("reports an erroring test as an error of the suite (state failure)", async () => {
    const { ctx } = context({
      "test_boom.py": `import unittest


class BoomTest(unittest.TestCase):
    def test_boom(self):
        {}["missing"]
`,
    });
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({ state: "failure", summary: "1 error in 1 test" });
    expect(result.tests?.[0]).toMatchObject({
      outcome: "error",
      message: "KeyError: 'missing'",
      file: "test_boom.py",
      line: 6,
    });
  });

  it("keeps skips and expected failures green but fails an unexpected success", async () => {
    const files = (xpass: boolean) => ({
      "test_kinds.py": `import unittest


class KindsTest(unittest.TestCase):
    def test_ok(self):
        pass

    @unittest.skip("no network here")
    def test_skip(self):
        pass

    @unittest.expectedFailure
    def test_known_bug(self):
        self.assertEqual(1, 0)
${
  xpass
    ? `
    @unittest.expectedFailure
    def test_fixed_bug(self):
        pass
`
    : ""
}`,
    });
    const green = await testStep.run(context(files(false)).ctx);
    expect(green).toMatchObject({
      state: "success",
      summary: "3 tests ran, 1 skipped, 1 expected failure",
      exitCode: 0,
    });
    expect(green.tests?.find((t) => t.id.endsWith("test_skip"))).toMatchObject({
      outcome: "skip",
      message: "no network here",
    });
    expect(green.tests?.find((t) => t.id.endsWith("test_known_bug"))?.outcome).toBe("expected_failure");

    const red = await testStep.run(context(files(true)).ctx);
    expect(red).toMatchObject({
      state: "failure",
      summary: "1 unexpected success in 4 tests, 1 skipped, 1 expected failure",
      exitCode: 1,
    });
    expect(red.tests?.find((t) => t.id.endsWith("test_fixed_bug"))?.outcome).toBe("unexpected_success");
  });

  it("reports an import error in a test module at the failing import", async () => {
    const { ctx, log } = context({
      "test_fine.py": "import unittest\n\n\nclass Fine(unittest.TestCase):\n    def test_fine(self):\n        pass\n",
      "test_imports.py": "import unittest\n\nimport numpy_is_not_installed\n",
    });
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({ state: "failure", summary: "1 error in 2 tests" });
    expect(result.tests?.find((t) => t.id === "test_imports")).toMatchObject({
      outcome: "error",
      message: "ModuleNotFoundError: No module named 'numpy_is_not_installed'",
      file: "test_imports.py",
      line: 3,
    });
    expect(log()).toContain("Failed to import test module: test_imports");
  });

  it("shows what tests print in the log, in order", async () => {
    const { ctx, log } = context({
      "test_noisy.py": `import sys
import unittest


class NoisyTest(unittest.TestCase):
    def test_a_prints(self):
        print("first: stdout from test_a")
        print("second: stderr from test_a", file=sys.stderr)

    def test_b_prints(self):
        print("third: stdout from test_b")
`,
    });
    const result = await testStep.run(ctx);
    expect(result.state).toBe("success");
    const text = log();
    const order = [
      "test_a_prints (",
      "first: stdout from test_a",
      "second: stderr from test_a",
      "test_b_prints (",
      "third: stdout from test_b",
      "Ran 2 tests",
    ];
    const positions = order.map((s) => text.indexOf(s));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it("fails a repository without tests, with a summary that says where it looked", async () => {
    const { ctx } = context({ "calc.py": CALC, "README.md": "# calc\n" });
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({
      state: "failure",
      summary: "No tests found (unittest discovery: start dir ., pattern test*.py)",
      exitCode: 5,
      tests: [],
    });
    expect(result.testCounts?.run).toBe(0);
  });

  it("honours the start dir, pattern and top-level dir of the repository config", async () => {
    const files = {
      "src/__init__.py": "",
      "src/calc.py": CALC,
      "checks/check_calc.py": `import unittest
from src.calc import add


class AddCheck(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)
`,
      "test_decoy.py":
        "import unittest\n\n\nclass Decoy(unittest.TestCase):\n    def test_decoy(self):\n        self.fail('should not be discovered')\n",
    };
    // Only checks/check_*.py is discovered (not test_decoy.py); `from src.calc` works
    // because the repository root is on sys.path, as with `python -m unittest`.
    const custom = await testStep.run(context(files, { test: { startDir: "checks", pattern: "check_*.py" } }).ctx);
    expect(custom).toMatchObject({ state: "success", summary: "1 test passed" });
    expect(custom.tests?.map((t) => t.id)).toEqual(["check_calc.AddCheck.test_add"]);

    const withTop = await testStep.run(
      context(
        { ...files, "checks/__init__.py": "" },
        { test: { startDir: "checks", pattern: "check_*.py", topLevelDir: "." } },
      ).ctx,
    );
    expect(withTop.tests?.map((t) => t.id)).toEqual(["checks.check_calc.AddCheck.test_add"]);

    const nothing = await testStep.run(
      context(files, { test: { startDir: "checks", pattern: "nope_*.py", topLevelDir: "checks" } }).ctx,
    );
    expect(nothing).toMatchObject({
      state: "failure",
      summary: "No tests found (unittest discovery: start dir checks, pattern nope_*.py, top-level dir checks)",
    });
  });

  it("errors when the tests outlive the timeout", async () => {
    const { ctx } = context(
      {
        "test_slow.py":
          "import time\nimport unittest\n\n\nclass Slow(unittest.TestCase):\n    def test_sleep(self):\n        time.sleep(30)\n",
      },
      { timeoutMs: 1_500 },
    );
    const started = Date.now();
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({ state: "error", summary: "unittest runner timed out after 1.5s", exitCode: null });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("on timeout kills the whole tree, a test deaf to SIGTERM and the daemon it left outside its process group", async () => {
    const { ctx } = context(
      {
        "test_daemon.py": `import os, signal, time, unittest


class Daemon(unittest.TestCase):
    def test_daemon(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                null = os.open(os.devnull, os.O_RDWR)
                for fd in (0, 1, 2):
                    os.dup2(null, fd)
                path = os.path.join(os.environ["TMPDIR"], "daemon.pid")
                with open(path + ".tmp", "w") as f:
                    f.write(str(os.getpid()))
                os.rename(path + ".tmp", path)
            time.sleep(300)
            os._exit(0)
        time.sleep(300)
`,
      },
      { timeoutMs: 3_000 },
    );
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({ state: "error", summary: "unittest runner timed out after 3s", exitCode: null });
    const pid = Number(readFileSync(join(ctx.scratchDir, "tmp", "daemon.pid"), "utf8"));
    for (let i = 0; i < 50 && running(pid); i++) await new Promise((res) => setTimeout(res, 100));
    const left = running(pid);
    if (left) process.kill(pid, "SIGKILL");
    expect(left).toBe(false);
  });

  it("errors when the interpreter does not exist", async () => {
    const { ctx } = context({ "test_x.py": "" }, { python: "/nonexistent/python3" });
    const result = await testStep.run(ctx);
    expect(result.state).toBe("error");
    expect(result.summary).toMatch(/^Could not start unittest runner: .*\/nonexistent\/python3.*ENOENT/);
  });

  it("errors when discovery itself cannot run", async () => {
    const { ctx, log } = context({ "test_x.py": "" }, { test: { startDir: "no-such-dir" } });
    const result = await testStep.run(ctx);
    expect(result).toMatchObject({
      state: "error",
      exitCode: 2,
      summary: "unittest runner exited with code 2 without results; see the log",
    });
    expect(log()).toContain("Start directory is not importable: 'no-such-dir'");
  });

  it("streams a suite that prints 200 MB into a capped log: head and tail kept, pyci's memory bounded", async () => {
    const { ctx } = context({
      "test_loud.py": `import sys, unittest


class Loud(unittest.TestCase):
    def test_loud(self):
        sys.stdout.write("FIRST-LINE\\n")
        block = ("x" * 1023 + "\\n") * 1024
        for _ in range(200):
            sys.stdout.write(block)
        sys.stdout.write("LAST-LINE\\n")
`,
    });
    const path = join(ctx.scratchDir, "loud.log");
    const cap = 1024 * 1024;
    const log = openStepLog(path, (t) => t, undefined, cap);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const result = await testStep.run({ ...ctx, log });
    clearInterval(sampler);
    log.close();
    expect(result).toMatchObject({ state: "success", summary: "1 test passed" });
    const text = readFileSync(path, "utf8");
    expect(statSync(path).size).toBeLessThanOrEqual(cap + 300);
    expect(text).toContain("FIRST-LINE");
    expect(text).toContain("LAST-LINE");
    expect(text).toMatch(/\[pyci: \d+ bytes of output omitted here; the step printed \d+ bytes/);
    expect(Number(/the step printed (\d+) bytes/.exec(text)![1])).toBeGreaterThan(200 * 1024 * 1024);
    // 200 MB went through; had it been held, the server would have grown by as much
    expect(peak - before).toBeLessThan(120 * 1024 * 1024);
  });
});
