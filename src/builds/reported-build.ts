import type { ReportedBuild } from "../github/build-reporter.js";
import type { BuildRequest } from "../model/build-request.js";
import type { BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import { PIPELINES } from "./pipelines.js";

/** A build as the build reporter shows it on GitHub: its commit and installation, its pipeline's statuses and check run, its page. */
export function reportedBuild(
  deps: Pick<BuildDeps, "buildUrl">,
  request: BuildRequest,
  record: BuildRecord,
): ReportedBuild {
  const spec = PIPELINES[request.pipeline];
  return {
    owner: request.owner,
    repo: request.repo,
    sha: request.sha,
    ...(request.installationId !== undefined ? { installationId: request.installationId } : {}),
    id: record.id,
    url: deps.buildUrl(record.id),
    contexts: spec.contexts,
    checkRunName: spec.checkRunName,
    ...(record.checkRunId !== undefined ? { checkRunId: record.checkRunId } : {}),
  };
}
