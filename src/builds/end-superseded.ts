import type { BuildRequest } from "../model/build-request.js";
import { supersededBy } from "../report/stop-text.js";
import type { BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import { reporterFor } from "./reporter-for.js";
import { buildLog } from "./build-log.js";
import { reportedBuild } from "./reported-build.js";

/**
 * Ends a build a newer push made pointless: recorded as `error` with a
 * `pyci` step saying so, then handed to the build reporter (every status
 * context of its pipeline `error` and its check run `cancelled`, each saying
 * "Superseded by <short sha>"). GitHub errors are logged, never thrown.
 */
export async function endSuperseded(
  deps: BuildDeps,
  request: BuildRequest,
  record: BuildRecord,
  bySha: string,
): Promise<void> {
  const why = supersededBy(bySha);
  const log = buildLog(deps.log, request, record.id);
  record.state = "error";
  record.error = why;
  record.finishedAt = new Date().toISOString();
  record.steps.push({ name: "pyci", state: "error", summary: why, exitCode: null, durationMs: 0 });
  deps.store.save(record);
  log.info({ by: bySha }, "build superseded by a newer push");
  try {
    const reporter = reporterFor(deps, await deps.octokitFor(request.installationId), log);
    await reporter.superseded(reportedBuild(deps, request, record), bySha);
  } catch (error) {
    log.error({ err: error }, "could not report a superseded build to GitHub");
  }
}
