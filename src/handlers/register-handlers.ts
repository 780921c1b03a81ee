import type { Probot } from "probot";
import type { BuildDeps } from "../builds/build-deps.js";
import {
  fromCheckRun,
  fromCheckSuite,
  fromMergedPullRequest,
  fromPullRequest,
  fromPush,
} from "./build-request-from.js";
import type { Delivery, EventName } from "./delivery.js";
import { onApprovalRequested } from "./on-approval-requested.js";
import { onBuildEvent } from "./on-build-event.js";
import { onDocsEvent } from "./on-docs-event.js";
import { deliveryIgnored } from "./delivery-handled.js";

type Handler = (delivery: Delivery) => Promise<void>;

/** A delivery as the webhook endpoint passes it on once its signature is checked. */
export interface ReceivedDelivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

const PULL_REQUEST_BUILDS = ["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"] as const;

/**
 * The events pyci builds on, each to its handler: the same for the server and for GitHub Actions.
 * One Probot hook takes every delivery and hands it to the handler of its `event.action`; any other
 * delivery (ping, installation, an action pyci does not build on) is counted as ignored.
 * `push` builds docs only where `options.push` says so (the Actions workflow's docs job): the
 * server's App is not subscribed to it, and builds the docs of merged pull requests instead.
 * Returns the same handlers as a function for a server that receives deliveries itself: Probot gives each
 * delivery a Context with an installation Octokit of its own (~0.2–0.3 ms of CPU to build, a third of a
 * delivery's cost), which no handler uses; this takes the delivery with its log alone. A handler's error is
 * logged with the delivery id and rethrown, as Probot does.
 */
export function registerHandlers(
  app: Probot,
  deps: BuildDeps,
  options: { push?: boolean } = {},
): (delivery: ReceivedDelivery) => Promise<void> {
  const handlers = new Map<string, Handler>();
  // typed as app.on(names, handler) would type it
  const on = <E extends EventName>(names: readonly E[], handler: (delivery: Delivery<NoInfer<E>>) => Promise<void>) => {
    for (const name of names) handlers.set(name, handler as unknown as Handler);
  };
  on(PULL_REQUEST_BUILDS, onBuildEvent(deps, fromPullRequest));
  on(["pull_request.closed"], onDocsEvent(deps, "pull_request.closed", fromMergedPullRequest));
  if (options.push) on(["push"], onDocsEvent(deps, "push", fromPush));
  on(["check_run.rerequested"], onBuildEvent(deps, fromCheckRun));
  on(["check_suite.rerequested"], onBuildEvent(deps, fromCheckSuite));
  // "Approve and run" on a fork's commit (CI_FORK_POLICY=approve)
  on(["check_run.requested_action"], onApprovalRequested(deps));

  const handle = async (delivery: Delivery): Promise<void> => {
    const action = (delivery.payload as { action?: unknown }).action;
    const handler = handlers.get(typeof action === "string" ? `${delivery.name}.${action}` : delivery.name);
    if (handler) return handler(delivery);
    deliveryIgnored(deps, delivery.name);
  };
  app.onAny((context) => handle(context as Delivery));
  return async (received) => {
    // as Probot binds a Context's log
    const log = app.log.child({ name: "event", id: received.id });
    try {
      await handle({ ...received, log } as Delivery);
    } catch (error) {
      log.error({ err: error }, "a handler failed on this delivery");
      throw error;
    }
  };
}
