import type { Logger } from "probot";
import { BuildReporter } from "../github/build-reporter.js";
import type { GitHubWriter } from "../github/types.js";
import { maskSecrets } from "../secrets/mask-secrets.js";
import { evictCaches } from "../pipeline/evict-caches.js";
import { runPipeline } from "../pipeline/run-pipeline.js";
import { sandboxSettings } from "../process/sandbox/sandbox-settings.js";
import type { StepResult, StepState } from "../pipeline/types.js";
import {
  checkout,
  CheckoutError,
  checkoutExisting,
  createWorkspace,
  existingWorkspace,
  type CloneSource,
  type Workspace,
} from "../checkout/workspace.js";
import type { BuildRecord } from "../store/build-store.js";
import { publishDocsRelease } from "../github/publish-docs-release.js";
import { keepArtifact } from "../store/keep-artifact.js";
import type { BuildDeps } from "./build-deps.js";
import type { BuildRequest } from "../model/build-request.js";
import { cloneSource } from "./clone-source.js";
import { PIPELINES } from "./pipelines.js";
import { readRepoConfig } from "./read-repo-config.js";
import { reportedBuild } from "./reported-build.js";
import { endSuperseded } from "./end-superseded.js";
import type { StopReason } from "./stop-reason.js";

/**
 * Runs an accepted build:
 * 1. checks out the exact commit;
 * 2. marks it running on GitHub;
 * 3. reads the repository's config from its default branch (asked for while
 *    the commit is fetched);
 * 4. runs the pipeline;
 * 5. keeps its artifacts and, for merges, publishes the docs as a release;
 * 6. stores the results and reports the final statuses and check run;
 * 7. removes the checkout, whatever happened, and bounds the caches.
 * Nothing here throws: whatever goes wrong ends the build in `error`.
 */
export async function runBuild(
  deps: BuildDeps,
  request: BuildRequest,
  record: BuildRecord,
  log: Logger,
  signal?: AbortSignal,
): Promise<void> {
  const { config, store } = deps;
  let github: GitHubWriter | undefined;
  let reporter: BuildReporter | undefined;
  // the check run's "in progress": every later report waits for it, so GitHub sees the writes in order
  let running: Promise<unknown> = Promise.resolve();
  const finishAfter = async (results: StepResult[]) => {
    await running;
    await finish(deps, reporter, log, request, record, results);
  };
  const stoppedAfter = async (reason: StopReason) => {
    await running;
    await stopped(deps, request, record, reason);
  };
  const workspace =
    deps.source.kind === "existing"
      ? await existingWorkspace(config.workDir, deps.source.dir)
      : await createWorkspace(config.workDir);
  try {
    record.state = "running";
    record.startedAt = new Date().toISOString();
    record.attempts = (record.attempts ?? 0) + 1;
    store.save(record);

    github = { octokit: await deps.octokitFor(request.installationId), log };
    const writer = github;
    const building = new BuildReporter({ octokit: github.octokit, outbox: deps.outbox, log });
    reporter = building;
    // 3 (asked for now, used after the checkout). the repository's config, from its default branch only
    const repoConfigRead = readRepoConfig(writer.octokit, request.owner, request.repo).then(
      (value) => ({ value }),
      (error: unknown) => ({ error: error as Error }),
    );

    // 1. the exact commit: the config read is the only request to GitHub meanwhile (each costs this
    //    process milliseconds of CPU that git's processes would wait for on a small machine)
    const source: CloneSource =
      deps.source.kind === "existing"
        ? { protocol: "local", url: deps.source.dir }
        : await cloneSource(config, request, github.octokit);
    const mask = maskSecrets([...deps.secrets, source.protocol === "https" ? source.token : undefined]);
    const fetched = await runCheckout(deps, record, workspace, source, request, mask);

    // 2. running on GitHub, once the code is here: the check run says so; the statuses stay pending
    if (record.checkRunId && fetched.state === "success" && !signal?.aborted) {
      running = building
        .running(reportedBuild(deps, request, record))
        .catch((err: unknown) => log.warn({ err }, "could not mark the check run in progress"));
    }
    const read = await repoConfigRead;
    if (signal?.aborted) return await stoppedAfter(signal.reason as StopReason);
    if (fetched.state !== "success") return await finishAfter([fetched]);

    // 3. the repository's config
    if ("error" in read) {
      return await finishAfter([
        { name: "config", state: "error", summary: read.error.message, exitCode: null, durationMs: 0 },
      ]);
    }
    const repoConfig = read.value;

    // 4. the pipeline
    const results = await runPipeline(PIPELINES[request.pipeline].stages, {
      dir: workspace.dir,
      scratchDir: workspace.scratchDir,
      repoConfig,
      python: repoConfig.python ?? config.python,
      timeoutMs: config.stepTimeoutMs,
      ...(signal ? { signal } : {}),
      // in GitHub Actions the job's runner is the sandbox, and the checkout is the job's own
      ...(deps.source.kind === "clone" ? { sandbox: sandboxSettings(config) } : {}),
      openLog: (step) => store.openLog(record.id, step, mask, undefined, config.stepOutputCapBytes),
      // results of the same tree are reused (a fresh clone's tree: set before any of its code ran)
      ...(workspace.tree
        ? { cache: { dir: config.dataDir, tree: workspace.tree, scope: request.cloneUrl, buildId: record.id } }
        : {}),
      onStepEnd: (result) => {
        log.info({ step: result.name, state: result.state, durationMs: result.durationMs }, "step finished");
        deps.metrics?.stepFinished(result);
        // the build page shows each step's state as soon as it is known
        record.steps.push(result);
        store.save(record);
      },
    });

    if (signal?.aborted) return await stoppedAfter(signal.reason as StopReason);
    await running;

    // 5. artifacts kept; docs published
    if (PIPELINES[request.pipeline].publishesDocs) {
      const published = await publishDocs(deps, github, request, record, results);
      if (published) {
        deps.metrics?.stepFinished(published);
        results.push(published);
      }
    }

    // 6. stored, then reported
    await finish(deps, reporter, log, request, record, results);
  } catch (error) {
    log.error({ err: error }, "build crashed");
    record.error = `pyci crashed: ${(error as Error).message}`;
    const crashed: StepResult = { name: "pyci", state: "error", summary: record.error, exitCode: null, durationMs: 0 };
    await finishAfter([crashed]).catch((err: unknown) => log.error({ err }, "could not report the crash"));
  } finally {
    // 7. no checkout outlives its build
    await workspace
      .remove()
      .catch((err: unknown) => log.error({ err, dir: workspace.dir }, "could not remove the checkout"));
    // the git cache and the result cache within CI_CACHE_MAX_SIZE, now that this build holds neither
    if (deps.source.kind === "clone")
      await evictCaches(cacheSettings(config)).catch((err: unknown) => log.warn({ err }, "could not bound the caches"));
  }
}

/**
 * A build stopped from outside: superseded (reported so on GitHub), or
 * stopped by a shutdown (back to `queued` with no steps: the next start of
 * pyci runs it again; its statuses stay `pending` meanwhile).
 */
async function stopped(deps: BuildDeps, request: BuildRequest, record: BuildRecord, reason: StopReason): Promise<void> {
  if (reason.kind === "superseded") return endSuperseded(deps, request, record, reason.by);
  record.state = "queued";
  record.steps = [];
  delete record.startedAt;
  deps.store.save(record);
  deps.store.removeLogs(record.id);
}

async function runCheckout(
  deps: BuildDeps,
  record: BuildRecord,
  workspace: Workspace,
  source: CloneSource,
  request: BuildRequest,
  mask: (text: string) => string,
): Promise<StepResult> {
  const started = performance.now();
  const log = deps.store.openLog(record.id, "checkout", mask, undefined, deps.config.stepOutputCapBytes);
  let result: StepResult;
  try {
    const checkoutRequest = {
      workRoot: deps.config.workDir,
      buildId: record.id,
      source,
      sha: request.sha,
      ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
      log,
      timeoutMs: deps.config.stepTimeoutMs,
      cache: cacheSettings(deps.config),
      minFreeDiskBytes: deps.config.minFreeDiskBytes,
    };
    await (deps.source.kind === "existing"
      ? checkoutExisting(workspace, checkoutRequest)
      : checkout(workspace, checkoutRequest));
    result = {
      name: "checkout",
      state: "success",
      summary: `Checked out ${request.sha.slice(0, 7)}`,
      exitCode: 0,
      durationMs: ms(started),
    };
  } catch (error) {
    const message = error instanceof CheckoutError ? error.message : `Checkout crashed: ${(error as Error).message}`;
    log.write(`${message}\n`);
    result = {
      name: "checkout",
      state: "error",
      summary: `Clone failed: ${message}`,
      exitCode: null,
      durationMs: ms(started),
    };
  } finally {
    log.close();
  }
  record.steps.push(result);
  deps.store.save(record);
  deps.metrics?.stepFinished(result);
  return result;
}

/** The `publish` step of a merge build: only a successful docs build with an archive publishes. */
async function publishDocs(
  deps: BuildDeps,
  github: GitHubWriter,
  request: BuildRequest,
  record: BuildRecord,
  results: StepResult[],
): Promise<StepResult | undefined> {
  const docs = results.find((r) => r.name === "docs");
  const archive = docs?.state === "success" ? docs.artifacts?.[0] : undefined;
  if (!docs || !archive) return undefined;
  const started = performance.now();
  try {
    const kept = await keepArtifact(deps.config.dataDir, record.id, archive);
    docs.artifacts = [kept];
    const release = await publishDocsRelease(github, request, {
      ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
      ...(request.prTitle !== undefined ? { prTitle: request.prTitle } : {}),
      buildUrl: deps.buildUrl(record.id),
      archive: kept,
      keep: deps.config.docsReleasesKeep,
    });
    return {
      name: "publish",
      state: "success",
      summary: `${docs.summary}; published as release ${release.tag}`,
      exitCode: 0,
      durationMs: ms(started),
    };
  } catch (error) {
    github.log.error({ err: error }, "could not publish the docs release");
    return {
      name: "publish",
      state: "error",
      summary: `Docs built but not published: ${(error as Error).message}`,
      exitCode: null,
      durationMs: ms(started),
    };
  }
}

async function finish(
  deps: BuildDeps,
  reporter: BuildReporter | undefined,
  log: Logger,
  request: BuildRequest,
  record: BuildRecord,
  results: StepResult[],
): Promise<void> {
  for (const result of results) if (!record.steps.includes(result)) record.steps.push(result);
  record.state = overallState(record.steps);
  record.finishedAt = new Date().toISOString();
  deps.store.save(record);
  if (!reporter) return;
  await reporter.finished(reportedBuild(deps, request, record), record.steps, (step) =>
    deps.store.readLog(record.id, step),
  );
  log.info({ state: record.state }, "build finished");
}

function overallState(steps: StepResult[]): "success" | "failure" | "error" {
  const states = new Set<StepState>(steps.map((s) => s.state));
  if (states.has("error")) return "error";
  if (states.has("failure")) return "failure";
  return "success";
}

/** The git cache and the result cache in CI_DATA_DIR, bounded together by CI_CACHE_MAX_SIZE. */
function cacheSettings(config: BuildDeps["config"]): { dir: string; maxBytes: number } {
  return { dir: config.dataDir, maxBytes: config.cacheMaxBytes };
}

function ms(started: number): number {
  return Math.round(performance.now() - started);
}
