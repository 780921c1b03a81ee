import { join } from "node:path";
import { describeTestCounts } from "../describe-test-counts.js";
import { parallelSavingNote } from "../parallel-saving.js";
import { testProcesses } from "../test-processes.js";
import type { Step, StepContext, StepResult } from "../types.js";
import { runTestsInParallel } from "./parallel-tests.js";
import { oneLine } from "./step-summary.js";
import { EXIT_OK, runUnittestProcess } from "./unittest-process.js";

/**
 * Runs the repository's unittest suite (discovery as `python -m unittest`)
 * in the sandbox (ctx.sandbox, with its allow-listed environment plus the
 * repository's `env:`) and reports each test: in one process, or split over
 * `test.parallel` processes (parallel-tests.ts) with the same figures.
 */
export const testStep: Step = {
  name: "test",
  status: "ci/test",
  async run(ctx: StepContext): Promise<StepResult> {
    const { startDir, pattern, topLevelDir, parallel } = ctx.repoConfig.test;
    const processes = testProcesses(parallel);
    const r =
      processes > 1
        ? await runTestsInParallel(ctx, processes)
        : await runUnittestProcess(ctx, { resultsPath: join(ctx.scratchDir, "unittest-results.json") });
    const base = { name: "test", exitCode: r.exitCode, durationMs: r.durationMs };
    if (!r.ok) return { ...base, state: "error", summary: oneLine(r.problem) };

    const { counts, tests } = r;
    const notes = parallel === undefined ? parallelSavingNote(tests, r.durationMs, testProcesses("auto")) : undefined;
    const withTests = { ...base, tests, testCounts: counts, ...(notes ? { notes: [notes] } : {}) };

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
