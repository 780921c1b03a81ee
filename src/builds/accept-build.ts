import type { Logger } from "probot";
import { createCheckRun } from "../github/check-run.js";
import { setStatus } from "../github/set-status.js";
import { newBuildId, type BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import type { BuildRequest } from "./build-request.js";
import { PIPELINES } from "./pipelines.js";
import { runBuild } from "./run-build.js";

/**
 * Accepts a build: records it, starts reporting `pending` on GitHub, and
 * queues it. Returns at once; the build starts once `pending` is out.
 */
export function acceptBuild(deps: BuildDeps, request: BuildRequest): BuildRecord {
  const record = deps.store.create({
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
  });
  const log = deps.log.child({ deliveryId: request.deliveryId, buildId: record.id, repo: `${request.owner}/${request.repo}`, sha: request.sha });
  log.info({ event: request.event, pipeline: request.pipeline, pr: request.prNumber }, "build accepted");
  deps.onAccepted?.(record);
  const queued = reportQueued(deps, request, record, log);
  deps.queue.add(async () => {
    await queued;
    await runBuild(deps, request, record, log);
  });
  return record;
}

/** `pending` statuses and a queued check run; a GitHub failure here is logged, never fatal. */
async function reportQueued(deps: BuildDeps, request: BuildRequest, record: BuildRecord, log: Logger): Promise<void> {
  const ahead = deps.queue.running >= deps.config.concurrency ? deps.queue.length : 0;
  const description = ahead > 0 ? `Queued (${ahead} ahead)` : "Queued";
  const spec = PIPELINES[request.pipeline];
  const targetUrl = deps.buildUrl(record.id);
  try {
    const github = { octokit: await deps.octokitFor(request.installationId), log };
    for (const context of Object.keys(spec.contexts)) {
      await setStatus(github, request, { context, state: "pending", description, targetUrl });
    }
    record.checkRunId = await createCheckRun(github, request, {
      name: spec.checkRunName,
      externalId: record.id,
      detailsUrl: targetUrl,
      status: "queued",
      title: description,
      summary: `Build queued for ${request.sha.slice(0, 7)}.`,
    });
    deps.store.save(record);
  } catch (error) {
    log.error({ err: error }, "could not report the queued build to GitHub; the build still runs");
  }
}
