import { rm } from "node:fs/promises";
import type { LogSink } from "../../model/log-sink.js";
import { packageFile } from "../../package-files.js";
import { BuildFileError, readBuildFile } from "../../process/sandbox/read-build-file.js";
import { sandboxEnv } from "../../process/sandbox/sandbox-env.js";
import { parseUnittestResults, type TestSelection } from "../parsers/unittest-results.js";
import { runInBuild } from "../run-in-build.js";
import type { StepContext, TestCaseResult, TestCounts } from "../types.js";
import { cannotRun } from "./cannot-run.js";

/** pyci's unittest runner. */
const RUNNER = packageFile("python", "pyci_unittest.py");

/** Exit codes of python/pyci_unittest.py. */
export const EXIT_OK = 0;
const EXIT_TESTS_FAILED = 1;
const EXIT_NO_TESTS = 5;
/** The most of the runner's results file pyci reads (tens of thousands of tests with their tracebacks fit). */
const MAX_RESULTS_BYTES = 64 * 1024 * 1024;

/** What one run of the runner reported: its tests and unittest's figures, or why there are none. */
export type UnittestRun =
  | {
      ok: true;
      exitCode: number;
      durationMs: number;
      tests: TestCaseResult[];
      counts: TestCounts;
      selection?: TestSelection;
    }
  | { ok: false; exitCode: number | null; durationMs: number; problem: string };

export interface UnittestOptions {
  /** Where the runner writes its results: in the scratch dir (the checkout belongs to the repository). */
  resultsPath: string;
  /** What it runs beyond discovery: ["--shard", "1/2"], ["--only", file]; none: every test. */
  select?: string[];
  /** Where its console goes (default ctx.log). */
  log?: LogSink;
  /** At most this long (default ctx.timeoutMs). */
  timeoutMs?: number;
}

/**
 * One run of pyci's unittest runner over the checkout, in the build's
 * sandbox (with its allow-listed environment plus the repository's `env:`),
 * discovering tests as `python -m unittest` does.
 */
export async function runUnittestProcess(ctx: StepContext, options: UnittestOptions): Promise<UnittestRun> {
  const { startDir, pattern, topLevelDir } = ctx.repoConfig.test;
  const { resultsPath } = options;
  const log = options.log ?? ctx.log;
  const timeoutMs = options.timeoutMs ?? ctx.timeoutMs;
  await rm(resultsPath, { force: true });

  const args = [RUNNER, "--results", resultsPath, "--start-dir", startDir, "--pattern", pattern];
  if (topLevelDir !== undefined) args.push("--top-level-dir", topLevelDir);
  args.push(...(options.select ?? []));
  log.write(`$ ${[ctx.python, ...args].join(" ")}\n`);

  const r = await runInBuild(ctx, {
    cmd: ctx.python,
    args,
    cwd: ctx.dir,
    env: sandboxEnv(ctx.scratchDir, {}, ctx.repoConfig.env),
    timeoutMs,
    log,
  });
  const failed = (problem: string): UnittestRun => ({
    ok: false,
    exitCode: r.exitCode,
    durationMs: r.durationMs,
    problem,
  });
  const problem = cannotRun(r, "unittest runner", timeoutMs);
  if (problem) return failed(problem);
  if (![EXIT_OK, EXIT_TESTS_FAILED, EXIT_NO_TESTS].includes(r.exitCode ?? -1)) {
    return failed(`unittest runner exited with code ${r.exitCode} without results; see the log`);
  }

  // the code under test could have left anything there: a link, a FIFO, a huge file
  let json: string | undefined;
  try {
    json = (await readBuildFile(resultsPath, MAX_RESULTS_BYTES))?.toString("utf8");
  } catch (err) {
    if (!(err instanceof BuildFileError)) throw err;
    return failed(`The unittest runner's results could not be read: ${err.message.replace(`${ctx.scratchDir}/`, "")}`);
  }
  if (json === undefined)
    return failed(`unittest runner exited with code ${r.exitCode} without writing results; see the log`);
  let parsed: ReturnType<typeof parseUnittestResults>;
  try {
    parsed = parseUnittestResults(json);
  } catch (err) {
    return failed((err as Error).message);
  }
  // tracebacks name files as the repository does, not by the throwaway checkout's path
  const root = `${ctx.dir}/`;
  const tests = parsed.tests.map((t) => (t.traceback ? { ...t, traceback: t.traceback.split(root).join("") } : t));
  return { ...parsed, ok: true, tests, exitCode: r.exitCode ?? EXIT_OK, durationMs: r.durationMs };
}
