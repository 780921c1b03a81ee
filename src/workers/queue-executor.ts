import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { BuildExecutor, BuildSinks, ExecutedBuild } from "../builds/build-executor.js";
import type { StopReason } from "../builds/stop-reason.js";
import { labelSet } from "../model/worker-labels.js";
import { maskSecrets } from "../secrets/mask-secrets.js";
import type { BuildJob } from "./build-job.js";
import type { BuildRequest } from "../model/build-request.js";
import { CANCEL_CHANNEL, STREAM_TTL_SECONDS } from "./build-stream.js";
import { sendCloneToken } from "./clone-token-exchange.js";
import { followBuildStream } from "./follow-build-stream.js";

export interface QueueExecutorOptions {
  /** The BullMQ queue of builds that ask for these labels (`runs_on`, sorted; buildQueueName), made known to workers. */
  queueFor(labels: string[]): Promise<Queue<BuildJob>>;
  /** Told when a build is queued, taken by a worker, and no longer followed: the workers view, waiting notes, metrics. */
  handOver?: HandOverWatch;
  /** The server's connection: each build's stream is read on a duplicate of it. */
  redis: Redis;
  /** The server's secrets (webhook secret, App key): masked in what workers send. */
  secrets: string[];
  /** A token that can read this build's repository and nothing else, for a worker's HTTPS clone (scopedCloneToken). */
  scopedToken(request: BuildRequest): Promise<string>;
  /** Where files workers send (docs archives) wait until they are whole: in CI_DATA_DIR. */
  spoolDir: string;
}

export interface HandOverWatch {
  /** In the queue of `labels`: `sinks.waiting` may say what it waits for. */
  queued(build: ExecutedBuild, labels: string[], sinks: BuildSinks): void;
  /** A worker took it (first time only), `waitedMs` after it was queued (undefined: queued by an earlier server process). */
  taken(build: ExecutedBuild, labels: string[], waitedMs: number | undefined): void;
  /** The server follows it no more (results, lost, stopped). */
  settled(build: ExecutedBuild): void;
}

/**
 * Hands builds to `pyci worker`s (CI_REDIS_URL), in place of running them here:
 * 1. waits for the repository's config the server reads, so that the job carries it;
 * 2. queues the build as a BullMQ job whose id is the build's (queued once, however often), in
 *    the queue of the labels its config asks for (`runs_on`);
 * 3. reads the build's event stream into the sinks until the worker's results come (or the job
 *    is lost: failed by BullMQ, or gone from Redis);
 *    stopped for good (superseded, cancelled), it tells the workers on the cancel channel.
 */
export function queueExecutor(options: QueueExecutorOptions): BuildExecutor {
  const mask = maskSecrets(options.secrets);
  return {
    async execute(build, sinks) {
      const { buildId, log, signal } = build;
      // 1. the config, or why not: the worker ends the build with that after its checkout
      const repoConfig = await build.repoConfig.then(
        (config) => ({ config }),
        (error: unknown) => ({ error: (error as Error).message }),
      );

      // 2. the job
      const job: BuildJob = {
        buildId,
        request: build.request,
        repoConfig,
        testDurations: [...build.testDurations],
      };
      const labels = labelSet("config" in repoConfig ? (repoConfig.config.runsOn ?? []) : []);
      const queue = await options.queueFor(labels);
      // handed over before (a restarted server follows it again): its wait is not this process's to measure
      const again = (await queue.getJobState(buildId)) !== "unknown";
      await queue.add("build", job, {
        jobId: buildId,
        removeOnComplete: { age: STREAM_TTL_SECONDS },
        removeOnFail: { age: STREAM_TTL_SECONDS },
      });
      const queuedAt = performance.now();
      log.info({ queue: queue.name }, "build handed to the workers");
      options.handOver?.queued(build, labels, sinks);
      let taken = false;

      // 3. its events
      const reader = options.redis.duplicate();
      // Redis away: the reader's commands wait for it; the server's own connection logs why
      reader.on("error", () => undefined);
      // a job still waiting is removed; the worker running one is told to stop it
      const cancel = () => {
        if ((signal?.reason as StopReason | undefined)?.kind === "shutdown") return;
        queue.remove(buildId).catch(() => undefined);
        options.redis.publish(CANCEL_CHANNEL, buildId).catch((err: unknown) => log.warn({ err }, "could not cancel"));
      };
      signal?.addEventListener("abort", cancel, { once: true });
      try {
        const results = await followBuildStream({
          redis: reader,
          buildId,
          sinks,
          mask,
          onTaken: (worker, attempt) => {
            log.info({ worker, attempt }, "a worker took the build");
            if (!taken) options.handOver?.taken(build, labels, again ? undefined : performance.now() - queuedAt);
            taken = true;
          },
          lost: () => lostJob(queue, buildId),
          spoolDir: options.spoolDir,
          onTokenRequest: async (publicKey) => {
            try {
              await sendCloneToken(options.redis, buildId, publicKey, await options.scopedToken(build.request));
              log.info("clone token sent to the worker, encrypted to its key");
            } catch (err) {
              // the worker's clone then fails, saying it got no token
              log.warn({ err }, "could not send a clone token to the worker");
            }
          },
          ...(signal ? { signal } : {}),
        });
        // the worker tidies its own directories, and lets the stream expire
        return { results, tidy: async () => undefined };
      } finally {
        signal?.removeEventListener("abort", cancel);
        reader.disconnect();
        options.handOver?.settled(build);
      }
    },
  };
}

/** Why a build's job will send nothing more, or undefined while it may. */
async function lostJob(queue: Queue<BuildJob>, buildId: string): Promise<string | undefined> {
  const state = await queue.getJobState(buildId);
  if (state === "unknown") return "The build's job is gone from Redis (was Redis restarted without persistence?)";
  if (state !== "failed") return undefined;
  const job = await queue.getJob(buildId);
  return `The build's job failed on the workers: ${job?.failedReason ?? "no reason given"}`;
}
