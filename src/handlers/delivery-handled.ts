import type { BuildDeps } from "../builds/build-deps.js";
import type { Accepted } from "../store/build-store.js";

/** A delivery that starts no build (its handler logs why): told to `deps.events`, with the reason when there is one. */
export function deliveryIgnored(deps: Pick<BuildDeps, "events">, event: string, reason?: string): void {
  deps.events?.delivery(event, "ignored", reason === undefined ? {} : { reason });
}

/** A delivery that queued a build, joined one of the same commit, or repeated an accepted delivery. */
export function deliveryAccepted(deps: Pick<BuildDeps, "events">, event: string, accepted: Accepted): void {
  const outcome = accepted.outcome === "created" ? "accepted" : accepted.outcome;
  deps.events?.delivery(event, outcome, { record: accepted.record });
}
