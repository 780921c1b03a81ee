#!/usr/bin/env node
import { realpathSync } from "node:fs";
import { cp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { CodeSource } from "./checkout/code-source.js";
import { localTarget } from "./checkout/local-target.js";
import { sweepWorkspaces, type Workspace } from "./checkout/workspace.js";
import { abortOnSignals, type SignalAbort } from "./process/abort-on-signals.js";
import { maskSecrets } from "./secrets/mask-secrets.js";
import { DOCS_PIPELINE } from "./pipeline/docs-pipeline.js";
import { DOCS_HTML_DIR } from "./pipeline/steps/docs/docs.js";
import { PR_PIPELINE } from "./pipeline/pr-pipeline.js";
import { readRepoConfigFile } from "./pipeline/repo-config.js";
import { runPipeline } from "./pipeline/run-pipeline.js";
import type { StepResult } from "./pipeline/types.js";
import { prefixLines } from "./report/prefix-lines.js";
import { formatDuration, summaryMarkdown } from "./report/summary-markdown.js";
import { newRunLogDir } from "./store/run-log-dir.js";
import { openStepLog } from "./store/step-log.js";

const USAGE = `Usage: pyci run <directory|git-url> [--ref REF] [--verbose]
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

type Output = { write(text: string): void; isTTY?: boolean };

export async function main(
  argv: string[],
  out: Output = process.stdout,
  err: Output = process.stderr,
): Promise<number> {
  const parsed = parseCommandLine(argv, err);
  if (!parsed) return 2;
  const [command, target, ...extra] = parsed.positionals;
  if (parsed.values.help) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  if (command !== "run" || !target || extra.length > 0) {
    err.write(`${usageProblem(command, target, extra)}\n\n${USAGE}\n`);
    return 2;
  }
  const timeout = Number(process.env.CI_STEP_TIMEOUT ?? 1800);
  if (!Number.isInteger(timeout) || timeout < 1) {
    err.write(`pyci: CI_STEP_TIMEOUT=${process.env.CI_STEP_TIMEOUT} must be a whole number of seconds\n`);
    return 2;
  }
  if (parsed.values.out !== undefined && !parsed.values.docs) {
    err.write(`pyci: --out goes with --docs\n\n${USAGE}\n`);
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
function usageProblem(command: string | undefined, target: string | undefined, extra: string[]): string {
  if (command === undefined) return "pyci: no command given";
  if (command !== "run") return `pyci: unknown command "${command}"`;
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
    err.write(`pyci: ${(error as Error).message}\n\n${USAGE}\n`);
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

/** A step's mark in the progress: a failure (the tool said no) is not an error (pyci could not run it). */
const MARKS: Record<StepResult["state"], string> = { success: "✓", failure: "✗", error: "⚠", skipped: "-" };

/**
 * The one writer of `pyci run`'s screen while the pipeline runs: which steps
 * are running and for how long (one rewritten line on a terminal, plain
 * lines elsewhere), each step's end, and with --verbose the steps' output.
 * A mark always starts a line, even after output that did not end one.
 */
class Progress {
  private readonly running = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private atLineStart = true;
  /** Whether the running steps' line is on the terminal, to be cleared before anything else is written. */
  private drawn = false;

  constructor(private readonly out: Output) {}

  start(): void {
    if (this.out.isTTY) this.timer = setInterval(() => this.draw(), 500);
  }

  /** A step's output (--verbose). */
  print(text: string): void {
    if (text === "") return;
    this.clear();
    this.write(text);
  }

  stepStarted(step: string): void {
    this.running.set(step, performance.now());
    if (!this.out.isTTY) this.line(`▶ ${step} started`);
    else this.draw();
  }

  stepEnded(result: StepResult): void {
    this.running.delete(result.name);
    this.clear();
    this.line(`${MARKS[result.state]} ${result.name}: ${result.summary} (${formatDuration(result.durationMs)})`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private line(text: string): void {
    this.write(`${this.atLineStart ? "" : "\n"}${text}\n`);
  }

  private write(text: string): void {
    this.out.write(text);
    this.atLineStart = text.endsWith("\n");
  }

  private draw(): void {
    if (this.running.size === 0 || !this.atLineStart) return;
    const now = performance.now();
    const parts = [...this.running].map(([step, since]) => `${step} ${Math.floor((now - since) / 1000)}s`);
    this.out.write(`\r\u001b[2K… running ${parts.join(", ")}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write("\r\u001b[2K");
    this.drawn = false;
  }
}

if (isMain()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`pyci: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(2);
    },
  );
}

function isMain(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}
