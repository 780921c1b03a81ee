import type { CodeSource } from "../checkout/code-source.js";
import type { Workspace } from "../checkout/workspace.js";
import type { Config } from "../config.js";
import type { BuildRequest } from "../model/build-request.js";
import { evictCaches } from "../pipeline/evict-caches.js";
import { runPipeline } from "../pipeline/run-pipeline.js";
import type { SandboxSettings } from "../process/sandbox/resolve-sandbox.js";
import { maskSecrets } from "../secrets/mask-secrets.js";
import type { BuildExecutor, BuildSinks, Executed, ExecutedBuild } from "./build-executor.js";
import { PIPELINES } from "./pipelines.js";

export interface LocalExecutorOptions {
  /** CI_WORK_DIR, CI_DATA_DIR (caches), CI_PYTHON, CI_STEP_TIMEOUT, CI_ENV_CACHE, CI_CACHE_MAX_SIZE. */
  config: Config;
  /** Values no log of this process may show (webhook secret, private key, CI_REDIS_URL). */
  secrets: string[];
  /**
   * Where a build's code comes from (checkout/code-source.ts): a fresh clone per build (the
   * server and workers: cloneEachBuild), or the job's own checkout (GitHub Actions).
   */
  codeSource(request: BuildRequest, cloneToken: () => Promise<string | undefined>): Promise<CodeSource>;
  /** How the code under test is confined (CI_SANDBOX), asked for each build; absent: not at all (GitHub Actions' throwaway runner). */
  sandbox?(): SandboxSettings;
}

/**
 * Runs builds' pipelines in this process — the server without CI_REDIS_URL, a GitHub Actions
 * job, and `pyci worker` for each job it takes:
 * 1. the build's code source and its workspace in CI_WORK_DIR;
 * 2. the pipeline (checkout, then the steps) in the build's sandbox, each step's log masked of
 *    this process's secrets and the source's; the files its steps made handed to the sinks to keep;
 * 3. the workspace removed, whatever happened, and the caches bounded to CI_CACHE_MAX_SIZE: by
 *    `tidy`, once the caller has reported the results (at once when the build could not run).
 */
export function localExecutor(options: LocalExecutorOptions): BuildExecutor {
  const { config } = options;
  return {
    async execute(build: ExecutedBuild, sinks: BuildSinks): Promise<Executed> {
      const { request, signal, log } = build;
      let workspace: Workspace | undefined;
      // 3. no checkout outlives its build; the git cache and the result cache within
      //    CI_CACHE_MAX_SIZE, now that this build holds neither
      const tidy = async () => {
        const dir = workspace?.dir;
        await workspace?.remove().catch((err: unknown) => log.error({ err, dir }, "could not remove the checkout"));
        await evictCaches({ dir: config.dataDir, maxBytes: config.cacheMaxBytes }).catch((err: unknown) =>
          log.warn({ err }, "could not bound the caches"),
        );
      };
      try {
        // 1. the code's source and its directories
        const source = await options.codeSource(request, build.cloneToken);
        workspace = await source.workspace(config.workDir);
        const mask = maskSecrets([...options.secrets, ...source.secrets]);

        // 2. the pipeline, and what it made kept while it exists
        const results = await runPipeline(PIPELINES[request.pipeline].pipeline, {
          source,
          workspace,
          repoConfig: () => build.repoConfig,
          python: config.python,
          timeoutMs: config.stepTimeoutMs,
          ...(signal ? { signal } : {}),
          ...(options.sandbox ? { sandbox: options.sandbox() } : {}),
          cache: { dir: config.dataDir, scope: request.cloneUrl, buildId: build.buildId },
          testDurations: build.testDurations,
          ...(config.envCache
            ? { envCache: { dir: config.dataDir, scope: request.cloneUrl, fill: !request.fork } }
            : {}),
          openLog: (step) => sinks.openLog(step, mask),
          ...(sinks.onStepStart ? { onStepStart: sinks.onStepStart } : {}),
          onStepEnd: sinks.onStepEnd,
        });
        for (const result of results)
          if (result.artifacts) result.artifacts = await Promise.all(result.artifacts.map(sinks.keepArtifact));
        return { results, tidy };
      } catch (error) {
        await tidy();
        throw error;
      }
    },
  };
}
