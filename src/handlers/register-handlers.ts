import type { Probot } from "probot";
import type { BuildDeps } from "../builds/build-deps.js";
import { fromCheckRun, fromCheckSuite, fromPullRequest } from "./build-request-from.js";
import { onApprovalRequested } from "./on-approval-requested.js";
import { onBuildEvent } from "./on-build-event.js";
import { onMergedPullRequest } from "./on-merged-pull-request.js";

const PULL_REQUEST_BUILDS = ["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"] as const;

/** Every `event.action` that reaches a handler; the handler counts its own delivery. */
const HANDLED = new Set<string>([...PULL_REQUEST_BUILDS, "pull_request.closed", "check_run.rerequested", "check_run.requested_action", "check_suite.rerequested"]);

/** The events pyci builds on, each to its handler: the same for the server and for GitHub Actions. */
export function registerHandlers(app: Probot, deps: BuildDeps): void {
  app.on([...PULL_REQUEST_BUILDS], onBuildEvent(deps, fromPullRequest));
  app.on("pull_request.closed", onMergedPullRequest(deps));
  app.on("check_run.rerequested", onBuildEvent(deps, fromCheckRun));
  app.on("check_suite.rerequested", onBuildEvent(deps, fromCheckSuite));
  // "Approve and run" on a fork's commit (CI_FORK_POLICY=approve)
  app.on("check_run.requested_action", onApprovalRequested(deps));
  // any other delivery (ping, installation, an action pyci does not build on) is ignored
  app.onAny((context) => {
    const action = (context.payload as { action?: unknown }).action;
    if (!HANDLED.has(typeof action === "string" ? `${context.name}.${action}` : context.name)) deps.metrics?.delivery(context.name, "ignored");
  });
}
