import type { CodeSource } from "../checkout/code-source.js";
import type { Workspace } from "../checkout/workspace.js";
import type { LogSink } from "../model/log-sink.js";
import type { SandboxSettings } from "../process/sandbox/resolve-sandbox.js";
import { runLoggedStep, runStages, type Stages } from "./run-stages.js";
import type { CheckoutStep } from "./steps/checkout.js";
import type { EnvCache, RepoConfig, StepCache, StepResult } from "./types.js";

/** A pipeline: the checkout, then its stages in order (the steps of one stage side by side). */
export interface Pipeline {
  checkout: CheckoutStep;
  stages: Stages;
}

export interface PipelineOptions {
  /** Where the code comes from (checkout/code-source.ts) … */
  source: CodeSource;
  /** … and the directories it goes to (made by `source.workspace()`; the caller removes them). */
  workspace: Workspace;
  /**
   * The repository's config, asked for once the code is here: from the checkout
   * (`pyci run`) or from the default branch on GitHub (asked for earlier).
   */
  repoConfig(dir: string): Promise<RepoConfig>;
  /** The interpreter, unless the repository's config names one (CI_PYTHON). */
  python: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** How to confine the code under test (CI_SANDBOX); absent: not at all (`pyci run`, GitHub Actions' throwaway runner). */
  sandbox?: SandboxSettings;
  /** Lets steps reuse results of the same tree (check, docs), when the checkout knows its tree; absent: every step runs. */
  cache?: Omit<StepCache, "tree">;
  /** Test durations of the repository's last build with tests (StepContext.testDurations); absent: none known. */
  testDurations?: ReadonlyMap<string, number>;
  /** Lets the install and docs steps reuse environments (CI_ENV_CACHE); absent: every build makes its own. */
  envCache?: EnvCache;
  /** A log for one step; closed by the pipeline when the step ends. */
  openLog(step: string): LogSink & { close(): void };
  onStepStart?(step: string): void;
  onStepEnd?(result: StepResult): void;
}

/**
 * Runs a pipeline for one build:
 * 1. the checkout step brings the code into the workspace;
 * 2. the repository's config is read;
 * 3. the stages run over the checkout, in the sandbox (run-stages.ts).
 * When the code or its config cannot be had there is nothing to run: the
 * results end with the step that says why.
 */
export async function runPipeline(pipeline: Pipeline, options: PipelineOptions): Promise<StepResult[]> {
  const { workspace } = options;
  // 1. the code
  const checkedOut = await runLoggedStep(pipeline.checkout.name, options, (log) =>
    pipeline.checkout.run({
      source: options.source,
      workspace,
      log,
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    }),
  );
  if (checkedOut.state !== "success" || options.signal?.aborted) return [checkedOut];

  // 2. its config
  let repoConfig: RepoConfig;
  try {
    repoConfig = await options.repoConfig(workspace.dir);
  } catch (error) {
    const unread: StepResult = {
      name: "config",
      state: "error",
      summary: (error as Error).message,
      exitCode: null,
      durationMs: 0,
    };
    options.onStepEnd?.(unread);
    return [checkedOut, unread];
  }

  // 3. the stages; results of the same tree are reused (a tree taken before any of its code ran)
  const results = await runStages(pipeline.stages, {
    dir: workspace.dir,
    scratchDir: workspace.scratchDir,
    repoConfig,
    python: repoConfig.python ?? options.python,
    timeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.sandbox ? { sandbox: options.sandbox } : {}),
    ...(options.cache && workspace.tree ? { cache: { ...options.cache, tree: workspace.tree } } : {}),
    ...(options.testDurations ? { testDurations: options.testDurations } : {}),
    ...(options.envCache ? { envCache: options.envCache } : {}),
    openLog: options.openLog,
    ...(options.onStepStart ? { onStepStart: options.onStepStart } : {}),
    ...(options.onStepEnd ? { onStepEnd: options.onStepEnd } : {}),
  });
  return [checkedOut, ...results];
}

/** The names a pipeline's results carry, in the order they come: the checkout, the config (when it cannot be read), the steps. */
export function resultNames(pipeline: Pipeline): string[] {
  return [pipeline.checkout.name, "config", ...pipeline.stages.flat().map((step) => step.name)];
}
