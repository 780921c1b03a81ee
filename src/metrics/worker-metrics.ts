import { Gauge, Histogram, type Registry } from "prom-client";

/** What the server knows of its workers at a scrape (CI_REDIS_URL; workers/hand-to-workers.ts). */
export interface WorkerMetrics {
  /** Whether Redis answers; when it does not, nothing else is known. */
  redisUp: boolean;
  /** Builds waiting in each label set's queue (`labels`: sorted, comma-separated; "" for no runs_on). */
  queues: { labels: string; waiting: number }[];
  /** The connected workers (by heartbeat) and the builds each runs. */
  workers: { name: string; running: number; concurrency: number }[];
}

/** How long builds wait for a worker: from a free worker's moment (tens of ms) to a label nobody has for hours. */
export const HANDOVER_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The metrics of builds on workers (CI_REDIS_URL), registered in `registry`; Redis is read once
 * per scrape for all of them. Worker names are a label: only connected workers are shown, so a
 * worker that is gone leaves no series behind. Returns the hand-over histogram, observed by the caller.
 */
export function workerMetrics(registry: Registry, read: () => Promise<WorkerMetrics>): Histogram {
  // one read for all of them: a scrape collects every metric at once, so they share the read in flight
  let reading: Promise<WorkerMetrics> | undefined;
  const current = () => {
    reading ??= read().finally(() => {
      reading = undefined;
    });
    return reading;
  };
  new Gauge({
    name: "pyci_redis_up",
    help: "1 while Redis (CI_REDIS_URL) answers the server, else 0: builds are recorded and wait to be handed over.",
    registers: [registry],
    async collect() {
      this.set((await current()).redisUp ? 1 : 0);
    },
  });
  new Gauge({
    name: "pyci_worker_queue_waiting",
    help: "Builds waiting for a worker, by the label set they ask for (runs_on; empty: any worker).",
    labelNames: ["labels"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { labels, waiting } of (await current()).queues) this.set({ labels }, waiting);
    },
  });
  new Gauge({
    name: "pyci_workers_connected",
    help: "pyci workers whose heartbeat is current.",
    registers: [registry],
    async collect() {
      this.set((await current()).workers.length);
    },
  });
  new Gauge({
    name: "pyci_worker_builds_running",
    help: "Builds each connected worker runs now (at most its CI_CONCURRENCY).",
    labelNames: ["worker"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { name, running } of (await current()).workers) this.set({ worker: name }, running);
    },
  });
  return new Histogram({
    name: "pyci_handover_seconds",
    help: "How long builds waited in the queue until a worker took them.",
    buckets: HANDOVER_BUCKETS,
    registers: [registry],
  });
}
