import type { StepResult } from "../pipeline/types.js";
import type { BuildRecord } from "../store/build-store.js";

/** accepted: a new build was queued; joined: a build of the same commit was already queued or running; duplicate: a redelivery; ignored: no build. */
export type DeliveryOutcome = "accepted" | "joined" | "duplicate" | "ignored";

/** What became of a delivery, beyond its outcome. */
export interface DeliveryDetail {
  /** Why it starts no build, when a handler says (an unknown event or action has none). */
  reason?: string;
  /** The build it queued or joined (the live record, updated until the build ends). */
  record?: BuildRecord;
}

/**
 * What handlers and builds tell whoever watches them: the server's /metrics
 * counts them (create-metrics.ts); a GitHub Actions job decides its exit code
 * from them (actions/actions-outcome.ts).
 */
export interface BuildEvents {
  /** A webhook delivery was handled. */
  delivery(event: string, outcome: DeliveryOutcome, detail?: DeliveryDetail): void;
  /** A step ended (any state). */
  stepFinished(step: StepResult): void;
}
