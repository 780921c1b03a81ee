import type { Redis } from "ioredis";
import type { Logger } from "probot";
import { servesLabels } from "../model/worker-labels.js";
import type { HandOverWatch } from "./queue-executor.js";
import { readHeartbeats } from "./worker-heartbeat.js";

/** What a build waits for while no connected worker has its labels: the check run's title and the statuses' description. */
export function waitingText(labels: readonly string[]): string {
  return labels.length === 0
    ? "Waits for a worker: none connected"
    : `Waits for a worker with labels ${labels.join(", ")}: none connected`;
}

/**
 * The server's watch over builds on their way to workers:
 * - queued while no connected worker (worker-heartbeat.ts) serves its labels, a build says so
 *   through its sinks (the check run, the statuses) and `waitingFor` says so to its page, until a
 *   worker takes it (it is built as soon as one with those labels connects);
 * - `handedOver` hears how long each build waited in the queue (the hand-over latency metric).
 */
export function watchHandOver(options: { redis: Redis; log: Logger; handedOver?(seconds: number): void }): {
  watch: HandOverWatch;
  waitingFor(buildId: string): string | undefined;
} {
  const waiting = new Map<string, string>();
  /** Builds queued and not yet taken or settled. */
  const queued = new Set<string>();
  return {
    watch: {
      queued(build, labels, sinks) {
        queued.add(build.buildId);
        readHeartbeats(options.redis).then(
          (workers) => {
            if (workers.some((worker) => servesLabels(worker.labels, labels))) return;
            // a worker may have taken it while the heartbeats were read
            if (!queued.has(build.buildId)) return;
            const text = waitingText(labels);
            waiting.set(build.buildId, text);
            build.log.info({ labels }, "no connected worker has the build's labels: it waits for one");
            sinks.waiting?.(text);
          },
          (err: unknown) => options.log.warn({ err }, "could not read the workers' heartbeats"),
        );
      },
      taken(build, _labels, waitedMs) {
        queued.delete(build.buildId);
        waiting.delete(build.buildId);
        options.handedOver?.(waitedMs / 1000);
      },
      settled(build) {
        queued.delete(build.buildId);
        waiting.delete(build.buildId);
      },
    },
    waitingFor: (buildId) => waiting.get(buildId),
  };
}
