import { completeCheckRun } from "../github/check-run.js";
import { setStatus } from "../github/set-status.js";
import type { BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import type { BuildRequest } from "../model/build-request.js";
import { PIPELINES } from "./pipelines.js";

/** Why a build was stopped before its end. */
export type StopReason = { kind: "superseded"; by: string } | { kind: "shutdown" };

export function supersededBy(sha: string): string {
  return `Superseded by ${sha.slice(0, 7)}`;
}

/**
 * Ends a build a newer push made pointless: recorded as `error` with a
 * `pyci` step saying so, every status context of its pipeline `error` and
 * its check run `cancelled`, each saying "Superseded by <short sha>".
 * GitHub errors are logged, never thrown.
 */
export async function reportSuperseded(deps: BuildDeps, request: BuildRequest, record: BuildRecord, bySha: string): Promise<void> {
  const why = supersededBy(bySha);
  const log = deps.log.child({ deliveryId: request.deliveryId, buildId: record.id, repo: `${request.owner}/${request.repo}`, sha: request.sha });
  record.state = "error";
  record.error = why;
  record.finishedAt = new Date().toISOString();
  record.steps.push({ name: "pyci", state: "error", summary: why, exitCode: null, durationMs: 0 });
  deps.store.save(record);
  log.info({ by: bySha }, "build superseded by a newer push");
  try {
    const github = { octokit: await deps.octokitFor(request.installationId), log };
    const url = deps.buildUrl(record.id);
    for (const context of Object.keys(PIPELINES[request.pipeline].contexts)) {
      await setStatus(github, request, { context, state: "error", description: why, targetUrl: url });
    }
    if (record.checkRunId) {
      await completeCheckRun(github, request, record.checkRunId, {
        conclusion: "cancelled",
        title: why,
        summary: `This build of ${request.sha.slice(0, 7)} was stopped: the pull request's head is now ${bySha.slice(0, 7)}, which is built instead.\n\nWhat it did before: ${url}`,
        annotations: [],
      });
    }
  } catch (error) {
    log.error({ err: error }, "could not report a superseded build to GitHub");
  }
}
