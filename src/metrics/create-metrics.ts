import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { BuildStore } from "../store/build-store.js";
import type { BuildEvents } from "./build-events.js";
import { workerMetrics, type WorkerMetrics } from "./worker-metrics.js";

export type { WorkerMetrics } from "./worker-metrics.js";

export type { BuildEvents, DeliveryOutcome } from "./build-events.js";

/** pyci's metrics in their own registry (nothing global), served as Prometheus text on /metrics. */
export interface PyciMetrics extends BuildEvents {
  registry: Registry;
  /** A GitHub API request failed; `status` is undefined when no response came (network). */
  githubApiError(status: number | undefined): void;
  /** A worker took a build `seconds` after it was queued for workers (CI_REDIS_URL). */
  handedOver(seconds: number): void;
}

export interface MetricsSources {
  store: Pick<BuildStore, "counts">;
  /** The build queue (builds/build-queue.ts): builds waiting for a slot, and in one. */
  queue: { readonly length: number; readonly running: number };
  /** GitHub writes waiting to be retried (src/github/github-outbox.ts). */
  outbox?: { size(): number };
  /** With CI_REDIS_URL: the queues and workers, read from Redis at each scrape. */
  workers?: () => Promise<WorkerMetrics>;
}

/** Step durations range from a skipped install (0 s) to CI_STEP_TIMEOUT (30 min by default). */
export const STEP_DURATION_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600];

/**
 * The metrics, each with a bounded set of label values (no repository or
 * branch names: they would be unbounded, and private):
 * - pyci_builds{state}: builds in the store by state, read at each scrape;
 * - pyci_queue_length, pyci_builds_running: builds waiting for a slot, and in one;
 * - pyci_step_duration_seconds{step,state}: a histogram of finished steps;
 * - pyci_webhook_deliveries_total{event,outcome}: deliveries by event name, accepted or ignored;
 * - pyci_github_api_errors_total{status}: failed GitHub API requests by HTTP status ("network" without one);
 * - pyci_github_outbox_size: statuses and check-run updates GitHub failed, waiting to be retried;
 * with CI_REDIS_URL (workerMetrics): pyci_redis_up, pyci_worker_queue_waiting{labels},
 * pyci_workers_connected, pyci_worker_builds_running{worker}, pyci_handover_seconds.
 */
export function createMetrics({ store, queue, outbox, workers }: MetricsSources): PyciMetrics {
  const registry = new Registry();
  const handedOver = workers ? workerMetrics(registry, workers) : undefined;
  new Gauge({
    name: "pyci_builds",
    help: "Builds recorded in pyci's store, by state.",
    labelNames: ["state"] as const,
    registers: [registry],
    collect() {
      for (const [state, count] of Object.entries(store.counts())) this.set({ state }, count);
    },
  });
  new Gauge({
    name: "pyci_queue_length",
    help: "Accepted builds waiting for a free slot (CI_CONCURRENCY).",
    registers: [registry],
    collect() {
      this.set(queue.length);
    },
  });
  new Gauge({
    name: "pyci_builds_running",
    help: "Builds holding a slot: being reported, checked out, or run.",
    registers: [registry],
    collect() {
      this.set(queue.running);
    },
  });
  new Gauge({
    name: "pyci_github_outbox_size",
    help: "Commit statuses and check-run updates GitHub failed, kept to be retried.",
    registers: [registry],
    collect() {
      this.set(outbox?.size() ?? 0);
    },
  });
  const stepDuration = new Histogram({
    name: "pyci_step_duration_seconds",
    help: "How long finished build steps took, by step and result.",
    labelNames: ["step", "state"] as const,
    buckets: STEP_DURATION_BUCKETS,
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "pyci_webhook_deliveries_total",
    help: "Webhook deliveries handled, by event name and outcome (accepted: a build was queued; joined: it joined the queued or running build of its commit; duplicate: a redelivery of an accepted delivery; ignored: no build).",
    labelNames: ["event", "outcome"] as const,
    registers: [registry],
  });
  const apiErrors = new Counter({
    name: "pyci_github_api_errors_total",
    help: "GitHub API requests that failed, by HTTP status (network: no response).",
    labelNames: ["status"] as const,
    registers: [registry],
  });
  return {
    registry,
    stepFinished: (step) => stepDuration.observe({ step: step.name, state: step.state }, step.durationMs / 1000),
    delivery: (event, outcome) => deliveries.inc({ event, outcome }),
    githubApiError: (status) => apiErrors.inc({ status: status === undefined ? "network" : String(status) }),
    handedOver: (seconds) => handedOver?.observe(seconds),
  };
}
