import type { StepResult } from "../pipeline/types.js";

/** Whether a webhook delivery started a build. */
/** accepted: a new build was queued; joined: a build of the same commit was already queued or running; duplicate: a redelivery; ignored: no build. */
export type DeliveryOutcome = "accepted" | "joined" | "duplicate" | "ignored";

/** What builds, handlers and the GitHub client tell the metrics (src/metrics/create-metrics.ts). */
export interface BuildMetrics {
  /** A step ended (any state): its duration goes into pyci_step_duration_seconds. */
  stepFinished(step: StepResult): void;
  /** A webhook delivery was handled: pyci_webhook_deliveries_total{event,outcome}. */
  delivery(event: string, outcome: DeliveryOutcome): void;
  /** A GitHub API request failed; `status` is undefined when no response came (network). */
  githubApiError(status: number | undefined): void;
}
