import { join } from "node:path";
import { Queue } from "bullmq";
import { scopedCloneToken } from "../github/scoped-clone-token.js";
import type { Octokit } from "../github/types.js";
import type { Logger } from "probot";
import type { BuildExecutor } from "../builds/build-executor.js";
import type { WorkerMetrics } from "../metrics/create-metrics.js";
import { buildQueueName, type BuildJob } from "./build-job.js";
import { connectRedis } from "./connect-redis.js";
import { watchHandOver } from "./hand-over-watch.js";
import { knownLabelSets, recordLabelSet } from "./label-sets.js";
import { queueExecutor } from "./queue-executor.js";
import { readHeartbeats, type WorkerBeat } from "./worker-heartbeat.js";

/**
 * Builds the server follows on workers at once (its BuildQueue's concurrency with CI_REDIS_URL):
 * each costs the server a Redis connection and little else; the workers' CI_CONCURRENCY is what
 * bounds the builds that run.
 */
export const HANDED_OVER_AT_ONCE = 256;

export interface HandToWorkersOptions {
  /** CI_REDIS_URL. */
  redisUrl: string;
  /** CI_DATA_DIR: files workers send wait in its `spool/` until they are whole. */
  dataDir: string;
  /** The server's secrets, masked in what workers send. */
  secrets: string[];
  log: Logger;
  /** The installation's Octokit, to mint workers' clone tokens (scopedCloneToken). */
  octokitFor(installationId: number | undefined): Promise<Octokit>;
  /** Hears how long each build waited in the queue for a worker, in seconds (the hand-over latency metric). */
  handedOver?(seconds: number): void;
}

export interface HandedToWorkers {
  executor: BuildExecutor;
  /** Why builds cannot be handed over right now (Redis away), or undefined. */
  problem(): string | undefined;
  /** The workers connected now, by their heartbeats. */
  workers(): Promise<WorkerBeat[]>;
  /** What a queued build waits for ("Waits for a worker with labels big: none connected"), or undefined. */
  waitingFor(buildId: string): string | undefined;
  /** The queues and workers as /metrics shows them. */
  metrics(): Promise<WorkerMetrics>;
  close(): Promise<void>;
}

/** The server's side of scale-out: the executor that queues builds for workers, what it knows of them, and how to let go of it. */
export function handToWorkers(options: HandToWorkersOptions): HandedToWorkers {
  const { redisUrl, log } = options;
  const redis = connectRedis(redisUrl, "pyci-server");
  redis.on("error", (err: Error) => log.warn({ err: err.message }, "Redis connection error"));
  // one queue per label set, on one connection (BullMQ's queues share it; workers block, queues do not)
  const connection = connectRedis(redisUrl, "pyci-server-queue");
  const queues = new Map<string, Queue<BuildJob>>();
  const queueOf = (labels: string[]) => {
    const name = buildQueueName(labels);
    let queue = queues.get(name);
    if (!queue) {
      queue = new Queue<BuildJob>(name, { connection });
      queue.on("error", (err: Error) => log.warn({ err: err.message, queue: name }, "BullMQ queue error"));
      queues.set(name, queue);
    }
    return queue;
  };
  const ready = () => redis.status === "ready";
  const handOver = watchHandOver({ redis, log, ...(options.handedOver ? { handedOver: options.handedOver } : {}) });
  return {
    executor: queueExecutor({
      // workers learn of a label set from Redis before its first build is queued
      queueFor: async (labels) => {
        await recordLabelSet(redis, labels);
        return queueOf(labels);
      },
      allQueues: async () => (await knownLabelSets(redis)).map(queueOf),
      handOver: handOver.watch,
      redis,
      secrets: options.secrets,
      scopedToken: async (request) =>
        scopedCloneToken(await options.octokitFor(request.installationId), request.installationId, request.repo),
      spoolDir: join(options.dataDir, "spool"),
    }),
    // for /healthz: deliveries are still accepted and recorded, and handed over once Redis is back
    problem: () =>
      ready()
        ? undefined
        : "Redis (CI_REDIS_URL) does not answer: builds are recorded and wait to be handed to workers",
    workers: () => readHeartbeats(redis),
    waitingFor: handOver.waitingFor,
    // nothing is asked of Redis while it is away: a scrape must not wait for it
    async metrics() {
      if (!ready()) return { redisUp: false, queues: [], workers: [] };
      const [labelSets, workers] = await Promise.all([knownLabelSets(redis), readHeartbeats(redis)]);
      const queues = await Promise.all(
        labelSets.map(async (labels) => ({
          labels: labels.join(","),
          waiting: await queueOf(labels).getWaitingCount(),
        })),
      );
      return {
        redisUp: true,
        queues,
        workers: workers.map((w) => ({ name: w.name, running: w.running.length, concurrency: w.concurrency })),
      };
    },
    async close() {
      handOver.close();
      await Promise.all([...queues.values()].map((queue) => queue.close()));
      await Promise.all([redis.quit(), connection.quit()]);
    },
  };
}
