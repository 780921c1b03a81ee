import type { Probot } from "probot";
import type { BuildDeps } from "../builds/build-deps.js";
import { fromCheckRun, fromCheckSuite, fromPullRequest } from "./build-request-from.js";
import { onBuildEvent } from "./on-build-event.js";
import { onMergedPullRequest } from "./on-merged-pull-request.js";

/** The events pyci builds on, each to its handler: the same for the server and for GitHub Actions. */
export function registerHandlers(app: Probot, deps: BuildDeps): void {
  app.on(["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"], onBuildEvent(deps, fromPullRequest));
  app.on("pull_request.closed", onMergedPullRequest(deps));
  app.on("check_run.rerequested", onBuildEvent(deps, fromCheckRun));
  app.on("check_suite.rerequested", onBuildEvent(deps, fromCheckSuite));
}
