import type { Context, Probot } from "probot";
import type { BuildDeps } from "../builds/build-deps.js";
import {
  fromCheckRun,
  fromCheckSuite,
  fromMergedPullRequest,
  fromPullRequest,
  fromPush,
} from "./build-request-from.js";
import { onApprovalRequested } from "./on-approval-requested.js";
import { onBuildEvent } from "./on-build-event.js";
import { onDocsEvent } from "./on-docs-event.js";
import { deliveryIgnored } from "./delivery-handled.js";

/** The event names Probot's app.on() takes (`pull_request`, `pull_request.opened`, …). */
type EventName = Extract<Parameters<Probot["on"]>[0], string>;
type Handler = (context: Context) => Promise<void>;

const PULL_REQUEST_BUILDS = ["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"] as const;

/**
 * The events pyci builds on, each to its handler: the same for the server and for GitHub Actions.
 * One Probot hook takes every delivery and hands it to the handler of its `event.action`; any other
 * delivery (ping, installation, an action pyci does not build on) is counted as ignored. Probot gives
 * each hook an event reaches a Context with an installation Octokit of its own (~0.2 ms to build), so
 * a catch-all hook beside per-action hooks would build two for every delivery.
 * `push` builds docs only where `options.push` says so (the Actions workflow's docs job): the
 * server's App is not subscribed to it, and builds the docs of merged pull requests instead.
 */
export function registerHandlers(app: Probot, deps: BuildDeps, options: { push?: boolean } = {}): void {
  const handlers = new Map<string, Handler>();
  // typed as app.on(names, handler) would type it
  const on = <E extends EventName>(names: readonly E[], handler: Parameters<typeof app.on<NoInfer<E>>>[1]) => {
    for (const name of names) handlers.set(name, handler as unknown as Handler);
  };
  on(PULL_REQUEST_BUILDS, onBuildEvent(deps, fromPullRequest));
  on(["pull_request.closed"], onDocsEvent(deps, "pull_request.closed", fromMergedPullRequest));
  if (options.push) on(["push"], onDocsEvent(deps, "push", fromPush));
  on(["check_run.rerequested"], onBuildEvent(deps, fromCheckRun));
  on(["check_suite.rerequested"], onBuildEvent(deps, fromCheckSuite));
  // "Approve and run" on a fork's commit (CI_FORK_POLICY=approve)
  on(["check_run.requested_action"], onApprovalRequested(deps));

  app.onAny(async (context) => {
    const action = (context.payload as { action?: unknown }).action;
    const handler = handlers.get(typeof action === "string" ? `${context.name}.${action}` : context.name);
    if (handler) return handler(context as Context);
    deliveryIgnored(deps, context.name);
  });
}
