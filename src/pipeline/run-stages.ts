import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { describeLimitHit, type LimitKind } from "../process/limits/build-limits.js";
import { prepareSandbox, type PreparedSandbox } from "../process/sandbox/prepare-sandbox.js";
import { resolveSandbox, type SandboxSettings } from "../process/sandbox/resolve-sandbox.js";
import type { EnvCache, RepoConfig, Step, StepCache, StepContext, StepResult } from "./types.js";
import type { LogSink } from "../model/log-sink.js";
import type { Sandbox, SandboxMount } from "../process/sandbox/sandbox.js";

/** Stages run in order; the steps of one stage run side by side. */
export type Stages = Step[][];

/** What the stages run over: a checkout, its config, the sandbox to confine its code. */
export interface StagesOptions {
  dir: string;
  scratchDir: string;
  repoConfig: RepoConfig;
  python: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** How to confine the code under test (CI_SANDBOX); absent: not at all (`pyci run` on a developer's machine, GitHub Actions' throwaway runner). */
  sandbox?: SandboxSettings;
  /** A log for one step; closed by the pipeline when the step ends. */
  openLog(step: string): LogSink & { close(): void };
  onStepStart?(step: string): void;
  onStepEnd?(result: StepResult): void;
  /** Lets steps reuse results of the same tree (check, docs); absent: every step runs. */
  cache?: StepCache;
  /** Test durations of the repository's last build with tests (StepContext.testDurations). */
  testDurations?: ReadonlyMap<string, number>;
  /** Lets the install and docs steps reuse environments (CI_ENV_CACHE); absent: every build makes its own. */
  envCache?: EnvCache;
}

/**
 * Runs the stages of a pipeline over a checkout (run-pipeline.ts makes it). A step that fails or errors
 * stops the later stages; their steps are reported as not run, with the
 * state of the step that stopped them (a failed install fails the tests).
 * A step that throws is a bug in pyci: it ends in `error`, never a crash.
 */
export async function runStages(stages: Stages, options: StagesOptions): Promise<StepResult[]> {
  const results: StepResult[] = [];
  // HOME and TMPDIR of the code under test, made before any of it runs
  await Promise.all(["home", "tmp"].map((dir) => mkdir(join(options.scratchDir, dir), { recursive: true })));

  // the sandbox, fitted to this build; a sandbox that cannot run stops every step
  const started = performance.now();
  const prepared = options.sandbox
    ? await prepareSandbox(await resolveSandbox(options.sandbox), {
        dir: options.dir,
        scratchDir: options.scratchDir,
        python: options.python,
        timeoutMs: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      })
    : unconfined(options);
  if (!prepared.ok) {
    const blocker: StepResult = {
      name: "sandbox",
      state: "error",
      summary: prepared.problem,
      exitCode: null,
      durationMs: Math.round(performance.now() - started),
    };
    results.push(blocker);
    options.onStepEnd?.(blocker);
    await runEachStage(stages, options, results, { ...unconfined(options), blocker });
    return results;
  }
  try {
    await runEachStage(stages, options, results, { ...prepared, blocker: undefined });
  } finally {
    // nothing the build started outlives it
    await prepared.release();
  }
  return results;
}

/** No sandbox (`pyci run`, GitHub Actions): the build's own directories, pyci's user, no limits. */
function unconfined(options: StagesOptions): Extract<PreparedSandbox, { ok: true }> {
  return {
    ok: true,
    python: options.python,
    sandbox: { kind: "off", hidden: [], readable: [], writable: [options.dir, options.scratchDir] },
    limitHit: async () => undefined,
    release: async () => undefined,
  };
}

interface Start {
  python: string;
  sandbox: Sandbox;
  blocker: StepResult | undefined;
  limitHit(): Promise<LimitKind | undefined>;
}

async function runEachStage(
  stages: Stages,
  options: StagesOptions,
  results: StepResult[],
  start: Start,
): Promise<void> {
  let { python, blocker, sandbox } = start;
  for (const stage of stages) {
    const ctxBase = {
      dir: options.dir,
      scratchDir: options.scratchDir,
      repoConfig: options.repoConfig,
      python,
      timeoutMs: options.timeoutMs,
      sandbox,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cache ? { cache: options.cache } : {}),
      ...(options.testDurations ? { testDurations: options.testDurations } : {}),
      ...(options.envCache ? { envCache: options.envCache } : {}),
    };
    const applicable = await filterApplicable(stage, { ...ctxBase, log: { write() {} } });
    if (blocker) {
      const stopped = blocker;
      results.push(...applicable.map((step) => notRun(step.name, stopped)));
      continue;
    }
    const stageResults = await Promise.all(applicable.map((step) => runStep(step, ctxBase, options, start.limitHit)));
    for (const { result, mount } of stageResults) {
      results.push(result);
      if (result.python) python = result.python;
      if (mount) sandbox = { ...sandbox, mounts: [...(sandbox.mounts ?? []), mount] };
      if (!blocker && (result.state === "failure" || result.state === "error")) blocker = result;
    }
  }
}

async function filterApplicable(stage: Step[], ctx: StepContext): Promise<Step[]> {
  const checks = await Promise.all(stage.map((step) => (step.applies ? step.applies(ctx).catch(() => true) : true)));
  return stage.filter((_, i) => checks[i]);
}

async function runStep(
  step: Step,
  ctxBase: Omit<StepContext, "log">,
  options: StagesOptions,
  limitHit: () => Promise<LimitKind | undefined>,
): Promise<{ result: StepResult; mount?: SandboxMount }> {
  // a cached environment lent to the build is the sandbox's business, not the stored result's (its host path)
  let mount: SandboxMount | undefined;
  const result = await runLoggedStep(
    step.name,
    options,
    async (log) => {
      const { mount: lent, ...result } = await step.run({ ...ctxBase, log });
      mount = lent;
      return result;
    },
    async (result, log) => {
      // a step hurt by one of the build's limits (an OOM kill, a refused fork, a full disk) says which
      const limits = options.sandbox?.limits;
      const hurt = limits && result.state !== "success" && result.state !== "skipped";
      const hit = hurt ? await limitHit().catch(() => undefined) : undefined;
      if (!hit || !limits) return result;
      const summary = `The build ${describeLimitHit(hit, limits)}`;
      log.write(`\n[pyci: ${summary}]\n`);
      return { ...result, state: "error", summary };
    },
  );
  return mount ? { result, mount } : { result };
}

/**
 * One step as every step is run, the checkout too: a log of its own, told when it starts and ends;
 * `amend` may change the result before the log closes. A step that throws is a bug in pyci: it ends
 * in `error`, never a crash.
 */
export async function runLoggedStep(
  name: string,
  options: Pick<StagesOptions, "openLog" | "onStepStart" | "onStepEnd">,
  run: (log: LogSink) => Promise<StepResult>,
  amend: (result: StepResult, log: LogSink) => Promise<StepResult> = async (result) => result,
): Promise<StepResult> {
  const log = options.openLog(name);
  options.onStepStart?.(name);
  const started = performance.now();
  let result: StepResult;
  try {
    result = await run(log);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.write(`\n[pyci: the ${name} step crashed: ${message}]\n`);
    result = {
      name,
      state: "error",
      summary: `pyci crashed: ${message}`.slice(0, 120),
      exitCode: null,
      durationMs: Math.round(performance.now() - started),
    };
  }
  result = await amend(result, log);
  log.close();
  options.onStepEnd?.(result);
  return result;
}

function notRun(name: string, blocker: StepResult): StepResult {
  return {
    name,
    state: blocker.state,
    summary: `Not run: ${blocker.name} ${blocker.state === "error" ? "errored" : "failed"} (${blocker.summary})`,
    exitCode: null,
    durationMs: 0,
  };
}
