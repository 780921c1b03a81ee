import type { Delivery } from "./delivery.js";
import { acceptBuild } from "../builds/accept-build.js";
import type { BuildDeps } from "../builds/build-deps.js";
import type { BuildRequest, GitHubAuth } from "../model/build-request.js";
import { Ignored } from "./build-request-from.js";
import { forkGate } from "./fork-gate.js";
import { deliveryAccepted, deliveryIgnored } from "./delivery-handled.js";

type BuildEvent = "pull_request" | "check_run" | "check_suite";

/**
 * A webhook handler: turns the delivery into a build request with `toRequest`
 * (a pure function), applies CI_FORK_POLICY to it (forkGate), then accepts
 * the build, which queues it and returns.
 * It never runs the build: GitHub waits at most 10 s for the answer.
 */
export function onBuildEvent<E extends BuildEvent>(
  deps: BuildDeps,
  toRequest: (payload: unknown, deliveryId: string, auth: GitHubAuth) => BuildRequest | Ignored,
) {
  return async (context: Delivery<E>): Promise<void> => {
    const request = toRequest(context.payload, context.id, deps.auth);
    if (request instanceof Ignored) {
      context.log.info({ deliveryId: context.id, event: context.name, reason: request.reason }, "delivery ignored");
      deliveryIgnored(deps, context.name, request.reason);
      return;
    }
    const allowed = await forkGate(deps, context, request);
    if (allowed === undefined) return;
    deliveryAccepted(deps, context.name, acceptBuild(deps, allowed));
  };
}
