import { join } from "node:path";
import { Queue } from "bullmq";
import { scopedCloneToken } from "../github/scoped-clone-token.js";
import type { Octokit } from "../github/types.js";
import type { Logger } from "probot";
import type { BuildExecutor } from "../builds/build-executor.js";
import { buildQueueName, type BuildJob } from "./build-job.js";
import { connectRedis } from "./connect-redis.js";
import { queueExecutor } from "./queue-executor.js";

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
}

/** The server's side of scale-out: the executor that queues builds for workers, whether Redis answers, and how to let go of it. */
export function handToWorkers(options: HandToWorkersOptions): {
  executor: BuildExecutor;
  problem(): string | undefined;
  close(): Promise<void>;
} {
  const { redisUrl, log } = options;
  const redis = connectRedis(redisUrl, "pyci-server");
  redis.on("error", (err: Error) => log.warn({ err: err.message }, "Redis connection error"));
  const queue = new Queue<BuildJob>(buildQueueName(), { connection: connectRedis(redisUrl, "pyci-server-queue") });
  queue.on("error", (err: Error) => log.warn({ err: err.message }, "BullMQ queue error"));
  return {
    executor: queueExecutor({
      queue,
      redis,
      secrets: options.secrets,
      scopedToken: async (request) =>
        scopedCloneToken(await options.octokitFor(request.installationId), request.installationId, request.repo),
      spoolDir: join(options.dataDir, "spool"),
    }),
    // for /healthz: deliveries are still accepted and recorded, and handed over once Redis is back
    problem: () =>
      redis.status === "ready"
        ? undefined
        : "Redis (CI_REDIS_URL) does not answer: builds are recorded and wait to be handed to workers",
    async close() {
      await queue.close();
      await redis.quit();
    },
  };
}
