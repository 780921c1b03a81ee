import { cp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { CodeSource } from "../checkout/code-source.js";
import { localTarget } from "../checkout/local-target.js";
import { sweepWorkspaces, type Workspace } from "../checkout/workspace.js";
import { abortOnSignals, type SignalAbort } from "../process/abort-on-signals.js";
import { maskSecrets } from "../secrets/mask-secrets.js";
import { DOCS_PIPELINE } from "../pipeline/docs-pipeline.js";
import { DOCS_HTML_DIR } from "../pipeline/steps/docs/docs.js";
import { PR_PIPELINE } from "../pipeline/pr-pipeline.js";
import { readRepoConfigFile } from "../pipeline/repo-config.js";
import { runPipeline } from "../pipeline/run-pipeline.js";
import { prefixLines } from "../report/prefix-lines.js";
import { summaryMarkdown } from "../report/summary-markdown.js";
import { newRunLogDir } from "../store/run-log-dir.js";
import { openStepLog } from "../store/step-log.js";

import { type Output, Progress } from "./progress.js";

export const RUN_USAGE = `Usage: pyci run <directory|git-url> [--ref REF] [--verbose]
       pyci run --docs <directory|git-url> [--ref REF] [--out DIR]

Runs pyci's pull-request pipeline (install, check with pyright, unittest)
locally, without GitHub, and prints the same report the check run shows.
With --docs, runs the merge pipeline instead: builds the Sphinx docs and
writes the HTML to DIR (default ./pyci-docs).

  <directory>   a Python project; its working tree is built as it is,
                uncommitted changes included (unless --ref is given)
  <git-url>     a repository to clone (https://, ssh://, git@host:path, file://)
  --ref REF     build this branch, tag or commit instead of the working tree / HEAD
  --verbose     stream every step's output while it runs, each line after [step]
  --docs        build the Sphinx docs (what a merged pull request publishes)
  --out DIR     with --docs: where to write the HTML (replaced if it exists)

Environment: CI_PYTHON (default python3), CI_STEP_TIMEOUT (seconds, default 1800),
CI_WORK_DIR (where the throwaway checkout is made, default the OS temp dir; the
logs of the last 10 runs are kept in its pyci-logs-<uid>/ folder).
Exit status: 0 when every step passed, 1 when a step failed, 2 when pyci could
not run a step (or on bad usage), 130 on Ctrl-C (143 on SIGTERM).`;

/** `pyci run …` (argv after `run`): exit 0 passed, 1 a step failed, 2 pyci could not run one, 130/143 interrupted. */
export async function runCommand(argv: string[], out: Output, err: Output): Promise<number> {
  const parsed = parseCommandLine(argv, err);
  if (!parsed) return 2;
  const [target, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    out.write(`${RUN_USAGE}\n`);
    return 0;
  }
  if (!target || extra.length > 0) {
    err.write(`${usageProblem(target, extra)}\n\n${RUN_USAGE}\n`);
    return 2;
  }
  const timeout = Number(process.env.CI_STEP_TIMEOUT ?? 1800);
  if (!Number.isInteger(timeout) || timeout < 1) {
    err.write(`pyci: CI_STEP_TIMEOUT=${process.env.CI_STEP_TIMEOUT} must be a whole number of seconds\n`);
    return 2;
  }
  if (parsed.values.out !== undefined && !parsed.values.docs) {
    err.write(`pyci: --out goes with --docs\n\n${RUN_USAGE}\n`);
    return 2;
  }
  const docsOut = parsed.values.docs ? resolve(parsed.values.out ?? "pyci-docs") : undefined;
  return runLocal(
    { target, ref: parsed.values.ref, verbose: parsed.values.verbose ?? false, timeoutMs: timeout * 1000, docsOut },
    out,
    err,
  );
}

/** What is wrong with the command line, in one line. */
function usageProblem(target: string | undefined, extra: string[]): string {
  if (target === undefined) return "pyci: run needs the directory of a Python project or a git URL to build";
  return `pyci: run builds one project; also given: ${extra.join(" ")}`;
}

/** The command line, or undefined when it cannot be read (said on `err`, with the usage). */
function parseCommandLine(argv: string[], err: Output) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ref: { type: "string" },
        verbose: { type: "boolean", short: "v" },
        docs: { type: "boolean" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    err.write(`pyci: ${(error as Error).message}\n\n${RUN_USAGE}\n`);
    return undefined;
  }
}

interface LocalRun {
  /** Set for --docs: where the HTML goes. */
  docsOut: string | undefined;
  target: string;
  ref: string | undefined;
  verbose: boolean;
  timeoutMs: number;
}

/**
 * 1. leftovers of runs that ended (killed, or interrupted twice) swept;
 * 2. the code's source: the working tree copied, or a clone at --ref (or
 *    why neither, in one line); a folder for this run's logs (the last
 *    few runs' are kept);
 * 3. a workspace for it;
 * 4. the pipeline — the checkout, the repository's .github/pyci.yml read
 *    from it, the steps — with progress; Ctrl-C (SIGINT) or SIGTERM stops it;
 * 5. the report;
 * 6. the workspace removed, whatever happened. Logs are kept.
 */
async function runLocal(options: LocalRun, out: Output, err: Output): Promise<number> {
  const workRoot = resolve(process.env.CI_WORK_DIR ?? tmpdir());
  const interrupt = abortOnSignals();
  try {
    // 1. leftovers
    const swept = await sweepWorkspaces(workRoot);
    if (swept > 0) err.write(`pyci: removed ${swept} checkout(s) that ended pyci runs left in ${workRoot}\n`);
    // 2. the code's source, and a folder for the logs
    const target = await localTarget(options.target, options.ref);
    if ("problem" in target) {
      err.write(`pyci: ${target.problem}\n`);
      return 2;
    }
    const { source } = target;
    const logDir = await newRunLogDir(workRoot);
    // 3. a workspace
    const workspace = await source.workspace(workRoot);
    try {
      return await runInWorkspace(options, { source, workspace, logDir, interrupt }, out, err);
    } finally {
      // 6. nothing left behind but the logs
      await workspace.remove();
      if (interrupt.received())
        err.write(`pyci: interrupted (${interrupt.received()}); the checkout is removed, the logs are in ${logDir}\n`);
    }
  } finally {
    interrupt.dispose();
  }
}

async function runInWorkspace(
  options: LocalRun,
  run: { source: CodeSource; workspace: Workspace; logDir: string; interrupt: SignalAbort },
  out: Output,
  err: Output,
): Promise<number> {
  const { workspace, logDir } = run;
  const progress = new Progress(out);
  const mask = maskSecrets([]);
  try {
    // 4. the pipeline
    progress.start();
    const results = await runPipeline(options.docsOut ? DOCS_PIPELINE : PR_PIPELINE, {
      source: run.source,
      workspace,
      repoConfig: readRepoConfigFile,
      python: process.env.CI_PYTHON ?? "python3",
      timeoutMs: options.timeoutMs,
      signal: run.interrupt.signal,
      openLog: (step) =>
        openStepLog(
          join(logDir, `${step}.log`),
          mask,
          options.verbose ? prefixLines(`[${step}] `, (t) => progress.print(t)) : undefined,
        ),
      onStepStart: (step) => progress.stepStarted(step),
      onStepEnd: (result) => progress.stepEnded(result),
    });
    progress.stop();
    if (run.interrupt.received()) return run.interrupt.exitCode();
    const [checkedOut, next] = results;
    if (checkedOut?.state !== "success") {
      err.write(`pyci: could not get the code: ${checkedOut?.summary} (log: ${join(logDir, "checkout.log")})\n`);
      return 2;
    }
    if (next?.name === "config") {
      err.write(`pyci: ${next.summary}\n`);
      return 2;
    }
    const docs = results.find((r) => r.name === "docs" && r.state === "success");
    if (options.docsOut && docs) {
      await rm(options.docsOut, { recursive: true, force: true });
      await cp(join(workspace.scratchDir, DOCS_HTML_DIR), options.docsOut, { recursive: true });
      out.write(`\nHTML written to ${options.docsOut} (open ${join(options.docsOut, "index.html")})\n`);
    }

    // 5. the report
    out.write(`\n${summaryMarkdown(results, undefined, `the logs in ${logDir}`)}\n\nLogs: ${logDir}\n`);
    if (results.some((r) => r.state === "error")) return 2;
    if (results.some((r) => r.state === "failure")) return 1;
    return 0;
  } finally {
    progress.stop();
  }
}
