import { WaitingError, Worker } from "bullmq";
import type { Logger } from "probot";
import type { BuildExecutor } from "../builds/build-executor.js";
import type { StopReason } from "../builds/stop-reason.js";
import { buildQueueName, type BuildJob } from "./build-job.js";
import { CANCEL_CHANNEL } from "./build-stream.js";
import { connectRedis } from "./connect-redis.js";
import { runBuildJob } from "./run-build-job.js";

export interface WorkerOptions {
  redisUrl: string;
  /** CI_WORKER_NAME. */
  name: string;
  /** CI_CONCURRENCY: builds this worker runs at once. */
  concurrency: number;
  /**
   * CI_WORKER_LOCK: how long the worker's lock on a build lasts without renewal (BullMQ renews it
   * at half that), and how often workers look for builds whose lock expired: a worker killed
   * mid-build loses its builds to another worker within about twice this (docs/scale-out.md).
   */
  lockMs: number;
  executor: BuildExecutor;
  log: Logger;
}

export interface RunningWorker {
  /**
   * Takes no more builds and waits `graceMs` for the running ones (CI_SHUTDOWN_GRACE); then
   * stops them and puts them back in the queue, where another worker takes them from the start.
   */
  close(graceMs: number): Promise<void>;
}

/** Times a build may lose its worker and be taken by another; once more and it ends in `error`. */
const MAX_HANDOVERS = 2;

/**
 * `pyci worker`'s engine:
 * 1. connects to Redis (one connection for the streams, one for the cancel channel; BullMQ its own);
 * 2. takes builds from the queue, `concurrency` at a time, each run by runBuildJob;
 * 3. stops a running build when the server says it is superseded or cancelled;
 * 4. closed (SIGTERM), takes nothing more and hands back what outlives the grace.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { log } = options;
  // 1. connections; their errors (Redis away) are logged, and commands wait for it to come back
  const redis = connectRedis(options.redisUrl, `pyci-worker:${options.name}`);
  const cancels = connectRedis(options.redisUrl, `pyci-worker-cancel:${options.name}`);
  for (const connection of [redis, cancels])
    connection.on("error", (err: Error) => log.warn({ err: err.message }, "Redis connection error"));
  const running = new Map<string, AbortController>();

  // 2. the builds
  const worker = new Worker<BuildJob>(
    buildQueueName(),
    async (job, token) => {
      const controller = new AbortController();
      running.set(job.data.buildId, controller);
      try {
        const deps = { executor: options.executor, redis, worker: options.name, log };
        if ((await runBuildJob(deps, job, controller.signal)) === "done") return;
      } finally {
        running.delete(job.data.buildId);
      }
      // back to the queue, as it was: BullMQ's way for a processor to give a job up
      await job.moveToWait(token);
      throw new WaitingError();
    },
    {
      connection: connectRedis(options.redisUrl, `pyci-worker-queue:${options.name}`),
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount: MAX_HANDOVERS,
      name: options.name,
    },
  );
  worker.on("error", (err) => log.warn({ err: err.message }, "BullMQ worker error"));

  // 3. the cancel channel
  await cancels.subscribe(CANCEL_CHANNEL);
  cancels.on("message", (_channel: string, buildId: string) => {
    const controller = running.get(buildId);
    if (!controller) return;
    log.info({ buildId }, "build stopped by the server");
    controller.abort({ kind: "cancelled" } satisfies StopReason);
  });
  await worker.waitUntilReady();
  log.info({ worker: options.name, concurrency: options.concurrency }, "pyci worker ready");
  return {
    async close(graceMs) {
      const stop = setTimeout(() => {
        for (const controller of running.values()) controller.abort({ kind: "shutdown" } satisfies StopReason);
      }, graceMs);
      await worker.close();
      clearTimeout(stop);
      await Promise.all([redis.quit(), cancels.quit()]);
    },
  };
}
