import type { Redis } from "ioredis";
import type { Logger } from "probot";
import type { BuildSinks, ExecutedBuild } from "../builds/build-executor.js";
import { servesLabels } from "../model/worker-labels.js";
import type { HandOverWatch } from "./queue-executor.js";
import { HEARTBEAT_MS, readHeartbeats } from "./worker-heartbeat.js";

/** What a build waits for while no connected worker has its labels: the check run's title and the statuses' description. */
export function waitingText(labels: readonly string[]): string {
  return labels.length === 0
    ? "Waits for a worker: none connected"
    : `Waits for a worker with labels ${labels.join(", ")}: none connected`;
}

interface Queued {
  build: ExecutedBuild;
  labels: string[];
  sinks: BuildSinks;
  /** What it was said to wait for (said once), or undefined while a worker that serves it is connected. */
  said?: string;
}

/**
 * The server's watch over builds on their way to workers:
 * - a queued build that no connected worker (worker-heartbeat.ts) serves says so through its
 *   sinks (the check run, the statuses) and `waitingFor` says so to its page, until a worker takes
 *   it (it is built as soon as one with those labels connects). Checked when it is queued and at
 *   every heartbeat while it waits: the only worker that could take it may leave;
 * - `handedOver` hears how long each build waited in the queue (the hand-over latency metric).
 */
export function watchHandOver(options: { redis: Redis; log: Logger; handedOver?(seconds: number): void }): {
  watch: HandOverWatch;
  waitingFor(buildId: string): string | undefined;
  close(): void;
} {
  /** Builds queued and not yet taken or settled. */
  const queued = new Map<string, Queued>();
  let checking = false;
  const check = async () => {
    if (checking || queued.size === 0) return;
    checking = true;
    try {
      const workers = await readHeartbeats(options.redis);
      // a worker may have taken a build while the heartbeats were read: only those still queued
      for (const entry of queued.values()) {
        if (entry.said || workers.some((worker) => servesLabels(worker.labels, entry.labels))) continue;
        entry.said = waitingText(entry.labels);
        entry.build.log.info({ labels: entry.labels }, "no connected worker has the build's labels: it waits for one");
        entry.sinks.waiting?.(entry.said);
      }
    } catch (err) {
      options.log.warn({ err }, "could not read the workers' heartbeats");
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), HEARTBEAT_MS);
  timer.unref();
  const forget = (build: ExecutedBuild) => queued.delete(build.buildId);
  return {
    watch: {
      queued(build, labels, sinks) {
        queued.set(build.buildId, { build, labels, sinks });
        void check();
      },
      taken(build, _labels, waitedMs) {
        forget(build);
        if (waitedMs !== undefined) options.handedOver?.(waitedMs / 1000);
      },
      settled: forget,
    },
    waitingFor: (buildId) => queued.get(buildId)?.said,
    close: () => clearInterval(timer),
  };
}
