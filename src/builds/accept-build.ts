import type { Logger } from "probot";
import { newBuildId, type Accepted, type BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import { reporterFor } from "./reporter-for.js";
import type { BuildRequest } from "../model/build-request.js";
import { buildLog } from "./build-log.js";
import { reportedBuild } from "./reported-build.js";
import { endStopped } from "./end-stopped.js";
import type { StopReason } from "./stop-reason.js";
import { runBuild } from "./run-build.js";
import { supersedeBuilds } from "./supersede-builds.js";

/**
 * Accepts a build request; returns as soon as the build is durably queued
 * (in the store, before the webhook is answered), never waiting for GitHub:
 * 1. records the delivery with its build, or finds it is a redelivery of an
 *    accepted one, or a second delivery for a commit already being built
 *    (it joins that build: nothing more happens);
 * 2. supersedes the builds of the pull request's older heads;
 * 3. reports `pending` "Queued (n ahead)" and a queued check run, and queues
 *    the build, which starts once `pending` is out.
 */
export function acceptBuild(deps: BuildDeps, request: BuildRequest): Accepted {
  // 1. durably recorded, or joined
  const accepted = deps.store.accept(newRecord(request), request.deliveryId);
  const record = accepted.record;
  const log = buildLog(deps.log, request, record.id);
  if (accepted.outcome !== "created") {
    log.info(
      { outcome: accepted.outcome, state: record.state },
      accepted.outcome === "duplicate"
        ? "delivery already accepted; no new build"
        : "delivery joins the build of the same commit",
    );
    return accepted;
  }
  log.info({ event: request.event, pipeline: request.pipeline, pr: request.prNumber }, "build accepted");

  // 2. older heads of the pull request stop
  const superseded = supersedeBuilds(deps, record);
  if (superseded.length > 0) log.info({ superseded }, "older builds of the pull request stopped");

  // 3. pending on GitHub, then queued
  // every slot busy: it waits for the builds queued before it (0 ahead: it is next)
  const ahead = deps.queue.running >= deps.queue.concurrency ? deps.queue.length : undefined;
  enqueueBuild(deps, request, record, log, reportQueued(deps, request, record, log, ahead));
  return accepted;
}

/**
 * Queues a recorded build. `reported` is what must reach GitHub before the
 * build starts or is reported superseded (its `pending` statuses), so that
 * GitHub never receives a `pending` after a build's final status.
 */
export function enqueueBuild(
  deps: BuildDeps,
  request: BuildRequest,
  record: BuildRecord,
  log: Logger,
  reported: Promise<void> = Promise.resolve(),
): void {
  deps.queue.add({
    key: record.id,
    run: async (signal) => {
      await reported;
      await runBuild(deps, request, record, log, signal);
    },
    cancelled: async (reason) => {
      await reported;
      const stop = reason as StopReason;
      if (stop.kind !== "shutdown") await endStopped(deps, request, record, stop);
    },
  });
}

function newRecord(request: BuildRequest): BuildRecord {
  return {
    id: newBuildId(),
    owner: request.owner,
    repo: request.repo,
    sha: request.sha,
    event: request.event,
    pipeline: request.pipeline,
    deliveryId: request.deliveryId,
    ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
    ...(request.prTitle !== undefined ? { prTitle: request.prTitle } : {}),
    ...(request.prUrl !== undefined ? { prUrl: request.prUrl } : {}),
    ...(request.branch !== undefined ? { branch: request.branch } : {}),
    request,
    state: "queued",
    createdAt: new Date().toISOString(),
    steps: [],
  };
}

/**
 * `pending` statuses and a queued check run (found again when a restart
 * lost its id); a GitHub failure here is logged, never fatal. It starts
 * after the webhook's answer: a handler's answer is written in the
 * microtasks after it returns, and an Octokit request's setup (hooks,
 * token, fetch) would otherwise run before it.
 */
export async function reportQueued(
  deps: BuildDeps,
  request: BuildRequest,
  record: BuildRecord,
  log: Logger,
  ahead: number | undefined,
): Promise<void> {
  if (deps.readOnly) return;
  await new Promise((resolve) => setImmediate(resolve));
  const description = ahead === undefined ? "Queued" : `Queued (${ahead} ahead)`;
  try {
    const reporter = reporterFor(deps, await deps.octokitFor(request.installationId), log);
    record.checkRunId = await reporter.queued(reportedBuild(deps, request, record), description, {
      findLost: !!record.attempts,
    });
    deps.store.save(record);
  } catch (error) {
    log.error({ err: error }, "could not report the queued build to GitHub; the build still runs");
  }
}
