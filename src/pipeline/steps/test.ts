import { rm } from "node:fs/promises";
import { join } from "node:path";
import { parseUnittestResults } from "../parsers/unittest-results.js";
import { describeTestCounts } from "../describe-test-counts.js";
import { BuildFileError, readBuildFile } from "../../process/sandbox/read-build-file.js";
import { runInBuild } from "../run-in-build.js";
import { sandboxEnv } from "../../process/sandbox/sandbox-env.js";
import type { Step, StepContext, StepResult } from "../types.js";
import { cannotRun } from "./cannot-run.js";
import { oneLine } from "./step-summary.js";
import { packageFile } from "../../package-files.js";

/** pyci's unittest runner. */
const RUNNER = packageFile("python", "pyci_unittest.py");

/** Exit codes of python/pyci_unittest.py. */
const EXIT_OK = 0;
const EXIT_TESTS_FAILED = 1;
const EXIT_NO_TESTS = 5;
/** The most of the runner's results file pyci reads (tens of thousands of tests with their tracebacks fit). */
const MAX_RESULTS_BYTES = 64 * 1024 * 1024;

/**
 * Runs the repository's unittest suite (discovery as `python -m unittest`)
 * in the sandbox (ctx.sandbox, with its allow-listed environment plus the
 * repository's `env:`) and reports each test.
 */
export const testStep: Step = {
  name: "test",
  status: "ci/test",
  async run(ctx: StepContext): Promise<StepResult> {
    const { startDir, pattern, topLevelDir } = ctx.repoConfig.test;
    // The results file lives in the scratch dir: the checkout belongs to the repository.
    const resultsPath = join(ctx.scratchDir, "unittest-results.json");
    await rm(resultsPath, { force: true });

    const args = [RUNNER, "--results", resultsPath, "--start-dir", startDir, "--pattern", pattern];
    if (topLevelDir !== undefined) args.push("--top-level-dir", topLevelDir);
    ctx.log.write(`$ ${[ctx.python, ...args].join(" ")}\n`);

    const r = await runInBuild(ctx, {
      cmd: ctx.python,
      args,
      cwd: ctx.dir,
      env: sandboxEnv(ctx.scratchDir, {}, ctx.repoConfig.env),
      timeoutMs: ctx.timeoutMs,
      log: ctx.log,
    });
    const base = { name: "test", exitCode: r.exitCode, durationMs: r.durationMs };
    const error = (summary: string): StepResult => ({ ...base, state: "error", summary: oneLine(summary) });

    const problem = cannotRun(r, "unittest runner", ctx.timeoutMs);
    if (problem) return error(problem);
    if (![EXIT_OK, EXIT_TESTS_FAILED, EXIT_NO_TESTS].includes(r.exitCode ?? -1)) {
      return error(`unittest runner exited with code ${r.exitCode} without results; see the log`);
    }

    // the code under test could have left anything there: a link, a FIFO, a huge file
    let json: string | undefined;
    try {
      json = (await readBuildFile(resultsPath, MAX_RESULTS_BYTES))?.toString("utf8");
    } catch (err) {
      if (!(err instanceof BuildFileError)) throw err;
      return error(`The unittest runner's results could not be read: ${err.message.replace(`${ctx.scratchDir}/`, "")}`);
    }
    if (json === undefined) {
      return error(`unittest runner exited with code ${r.exitCode} without writing results; see the log`);
    }
    let parsed: ReturnType<typeof parseUnittestResults>;
    try {
      parsed = parseUnittestResults(json);
    } catch (err) {
      return error((err as Error).message);
    }
    const { counts } = parsed;
    // tracebacks name files as the repository does, not by the throwaway checkout's path
    const root = `${ctx.dir}/`;
    const tests = parsed.tests.map((t) => (t.traceback ? { ...t, traceback: t.traceback.split(root).join("") } : t));
    const withTests = { ...base, tests, testCounts: counts };

    // A repository without tests is a failure, not a silent green: a status
    // that says "passed" when nothing ran (wrong pattern, tests outside the
    // start dir, a package missing its __init__.py) would hide exactly the
    // mistakes this step exists to catch.
    if (counts.run + counts.failures + counts.errors + counts.skipped === 0) {
      const where = [`start dir ${startDir}`, `pattern ${pattern}`];
      if (topLevelDir !== undefined) where.push(`top-level dir ${topLevelDir}`);
      return {
        ...withTests,
        state: "failure",
        summary: oneLine(`No tests found (unittest discovery: ${where.join(", ")})`),
      };
    }
    if (counts.failures + counts.errors + counts.unexpectedSuccesses > 0) {
      return { ...withTests, state: "failure", summary: describeTestCounts(counts) };
    }
    if (r.exitCode !== EXIT_OK) {
      return {
        ...withTests,
        state: "error",
        summary: `unittest runner exited with code ${r.exitCode} although no test failed; see the log`,
      };
    }
    return { ...withTests, state: "success", summary: describeTestCounts(counts) };
  },
};
