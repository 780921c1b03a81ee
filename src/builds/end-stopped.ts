import type { BuildRequest } from "../model/build-request.js";
import { CANCELLED, supersededBy } from "../report/stop-text.js";
import type { BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import { reporterFor } from "./reporter-for.js";
import { buildLog } from "./build-log.js";
import { reportedBuild } from "./reported-build.js";
import type { FinalStopReason } from "./stop-reason.js";

/**
 * Ends a build stopped for good — a newer push made it pointless, or its
 * GitHub Actions job was cancelled: recorded as `error` with a `pyci` step
 * saying so, then handed to the build reporter (every status context of its
 * pipeline `error` and its check run `cancelled`, each saying why; nothing
 * when the token cannot write). GitHub errors are logged, never thrown.
 */
export async function endStopped(
  deps: BuildDeps,
  request: BuildRequest,
  record: BuildRecord,
  reason: FinalStopReason,
): Promise<void> {
  const why = reason.kind === "superseded" ? supersededBy(reason.by) : CANCELLED;
  const log = buildLog(deps.log, request, record.id);
  record.state = "error";
  record.error = why;
  record.finishedAt = new Date().toISOString();
  record.steps.push({ name: "pyci", state: "error", summary: why, exitCode: null, durationMs: 0 });
  deps.store.save(record);
  log.info(reason.kind === "superseded" ? { by: reason.by } : {}, `build ${reason.kind}`);
  if (deps.readOnly) return;
  try {
    const reporter = reporterFor(deps, await deps.octokitFor(request.installationId), log);
    const build = reportedBuild(deps, request, record);
    await (reason.kind === "superseded" ? reporter.superseded(build, reason.by) : reporter.cancelled(build));
  } catch (error) {
    log.error({ err: error }, `could not report a ${reason.kind} build to GitHub`);
  }
}
