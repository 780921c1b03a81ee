import type { Logger } from "probot";
import type { BuildReporter } from "../github/build-reporter.js";
import type { GitHubWriter } from "../github/types.js";
import type { StepResult, StepState } from "../pipeline/types.js";
import type { BuildRecord } from "../store/build-store.js";
import { publishDocsRelease } from "../github/publish-docs-release.js";
import { keepArtifact } from "../store/keep-artifact.js";
import type { BuildDeps } from "./build-deps.js";
import { reporterFor } from "./reporter-for.js";
import type { BuildRequest } from "../model/build-request.js";
import { PIPELINES } from "./pipelines.js";
import { readRepoConfig } from "./read-repo-config.js";
import { reportedBuild } from "./reported-build.js";
import { endStopped } from "./end-stopped.js";
import type { StopReason } from "./stop-reason.js";

/**
 * Runs an accepted build:
 * 1. marks it running;
 * 2. asks GitHub for the repository's config, from its default branch (used
 *    once the code is here);
 * 3. has its pipeline — the checkout, then the steps — run by the build
 *    executor (here, or on a `pyci worker`), storing each step's log and
 *    result as it comes; once the code is here, the check run says the build
 *    is in progress;
 * 4. keeps the docs archive and, for merges, publishes it as a release;
 * 5. stores the results and reports the final statuses and check run;
 * with a read-only token (deps.readOnly) it reports and publishes nothing;
 * 6. lets no request to GitHub outlive the build, and has the executor remove
 *    the workspace and bound the caches.
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
  let reporter: BuildReporter | undefined;
  // the config's request: no request of a build outlives it, also when it ends before the config is read
  let configAsked: Promise<unknown> = Promise.resolve();
  // the executor's tidying up (workspace, caches): after the report, whatever happened
  let tidy: () => Promise<void> = async () => undefined;
  // the check run's "in progress": every later report waits for it, so GitHub sees the writes in order
  let running: Promise<unknown> = Promise.resolve();
  const finishAfter = async (results: StepResult[]) => {
    await running;
    await finish(deps, reporter, log, request, record, results);
  };
  try {
    // 1. running
    record.state = "running";
    record.startedAt = new Date().toISOString();
    // a detached build goes on while this process restarts: following it again is no new attempt
    record.attempts = deps.executor.detached ? Math.max(record.attempts ?? 0, 1) : (record.attempts ?? 0) + 1;
    store.save(record);
    const octokit = await deps.octokitFor(request.installationId);
    const github: GitHubWriter = { octokit, log };
    const building = deps.readOnly ? undefined : reporterFor(deps, octokit, log);
    reporter = building;

    // 2. the config, asked for now and read after the checkout (a failure then ends the build in
    //    `error`): the only request to GitHub while the code is fetched (each costs this process
    //    milliseconds of CPU that git's processes would wait for on a small machine)
    const repoConfig = readRepoConfig(octokit, request.owner, request.repo);
    configAsked = repoConfig.catch(() => undefined);

    // 3. the pipeline: checkout, then its steps, wherever the executor runs them
    const unkept = new Map<string, string>();
    const executed = {
      request,
      buildId: record.id,
      repoConfig,
      testDurations: store.testDurations(request.owner, request.repo),
      cloneToken: async () => ((await octokit.auth({ type: "installation" })) as { token?: string }).token,
      log,
      ...(signal ? { signal } : {}),
      ...(record.streamApplied ? { resumeFrom: record.streamApplied } : {}),
    };
    const { results, ...rest } = await deps.executor.execute(executed, {
      openLog: (step, mask) => store.openLog(record.id, step, mask, undefined, config.stepOutputCapBytes),
      onStepEnd: (result) => {
        log.info({ step: result.name, state: result.state, durationMs: result.durationMs }, "step finished");
        deps.events?.stepFinished(result);
        // the build page shows each step's state as soon as it is known
        record.steps.push(result);
        store.save(record);
        // the code is here: the check run says so (the statuses stay pending)
        if (
          building &&
          result.name === "checkout" &&
          result.state === "success" &&
          record.checkRunId &&
          !signal?.aborted
        ) {
          running = running
            .then(() => building.running(reportedBuild(deps, request, record)))
            .catch((err: unknown) => log.warn({ err }, "could not mark the check run in progress"));
        }
      },
      // still queued, for a reason the executor knows (no worker with the build's labels)
      waiting: (description) => {
        if (!building || signal?.aborted) return;
        running = running
          .then(() => building.waiting(reportedBuild(deps, request, record), description))
          .catch((err: unknown) => log.warn({ err }, "could not say what the build waits for"));
      },
      // the docs archive of a build that publishes it, kept in CI_DATA_DIR (or why not: step 4 says it)
      keepArtifact: (artifact) =>
        PIPELINES[request.pipeline].publishesDocs && !deps.readOnly
          ? keepArtifact(config.dataDir, record.id, artifact).catch((error: unknown) => {
              unkept.set(artifact.name, (error as Error).message);
              return artifact;
            })
          : Promise.resolve(artifact),
      applied: (position) => {
        record.streamApplied = position;
      },
      restart: () => {
        log.warn({ steps: record.steps.length }, "the build starts over on another worker");
        record.steps = [];
        store.save(record);
        store.removeLogs(record.id);
      },
    });
    tidy = rest.tidy;
    await running;
    if (signal?.aborted) return await stopped(deps, request, record, signal.reason as StopReason);

    // 4. the docs kept and published
    if (PIPELINES[request.pipeline].publishesDocs && !deps.readOnly) {
      const published = await publishDocs(deps, github, request, record, results, unkept);
      if (published) {
        deps.events?.stepFinished(published);
        results.push(published);
      }
    }

    // 5. stored, then reported
    await finish(deps, reporter, log, request, record, results);
  } catch (error) {
    log.error({ err: error }, "build crashed");
    record.error = `pyci crashed: ${(error as Error).message}`;
    const crashed: StepResult = { name: "pyci", state: "error", summary: record.error, exitCode: null, durationMs: 0 };
    await finishAfter([crashed]).catch((err: unknown) => log.error({ err }, "could not report the crash"));
  } finally {
    // 6. no request to GitHub outlives its build, nor its directories
    await configAsked;
    await tidy();
  }
}

/**
 * A build stopped from outside: superseded or cancelled (ended for good, reported so on GitHub), or
 * stopped by a shutdown (back to `queued` with no steps: the next start of
 * pyci runs it again; its statuses stay `pending` meanwhile). A detached build is left as it is
 * stored: its worker goes on, and the next start reads on from `streamApplied`.
 */
async function stopped(deps: BuildDeps, request: BuildRequest, record: BuildRecord, reason: StopReason): Promise<void> {
  if (reason.kind !== "shutdown") return endStopped(deps, request, record, reason);
  // it goes on without this process: the next start follows it on from what is stored
  if (deps.executor.detached) return;
  record.state = "queued";
  record.steps = [];
  delete record.startedAt;
  deps.store.save(record);
  deps.store.removeLogs(record.id);
}

/**
 * The `publish` step of a merge build: only a successful docs build with an archive publishes,
 * the archive kept in CI_DATA_DIR by step 3 (`unkept`: why an artifact could not be kept).
 */
async function publishDocs(
  deps: BuildDeps,
  github: GitHubWriter,
  request: BuildRequest,
  record: BuildRecord,
  results: StepResult[],
  unkept: ReadonlyMap<string, string>,
): Promise<StepResult | undefined> {
  const docs = results.find((r) => r.name === "docs");
  const archive = docs?.state === "success" ? docs.artifacts?.[0] : undefined;
  if (!docs || !archive) return undefined;
  const started = performance.now();
  try {
    const problem = unkept.get(archive.name);
    if (problem) throw new Error(problem);
    const release = await publishDocsRelease(github, request, {
      ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
      ...(request.prTitle !== undefined ? { prTitle: request.prTitle } : {}),
      buildUrl: deps.buildUrl(record.id),
      archive,
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
  // a step reported as it ended is the same result (or, read back after a restart, the same name)
  for (const result of results)
    if (!record.steps.some((step) => step === result || (record.streamApplied && step.name === result.name)))
      record.steps.push(result);
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

function ms(started: number): number {
  return Math.round(performance.now() - started);
}
