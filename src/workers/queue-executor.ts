import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "probot";
import type { BuildExecutor, BuildSinks, ExecutedBuild } from "../builds/build-executor.js";
import type { StopReason } from "../builds/stop-reason.js";
import { labelSet } from "../model/worker-labels.js";
import { maskSecrets } from "../secrets/mask-secrets.js";
import type { BuildJob } from "./build-job.js";
import type { BuildRequest } from "../model/build-request.js";
import type { StepResult } from "../pipeline/types.js";
import { buildStreamKey, CANCEL_CHANNEL, STREAM_TTL_SECONDS } from "./build-stream.js";
import { sendCloneToken } from "./clone-token-exchange.js";
import { followBuildStream, LostBuildError } from "./follow-build-stream.js";
import { lostJob } from "./lost-job.js";

export interface QueueExecutorOptions {
  /** The BullMQ queue of builds that ask for these labels (`runs_on`, sorted; buildQueueName), made known to workers. */
  queueFor(labels: string[]): Promise<Queue<BuildJob>>;
  /** Every queue builds may wait in (one per label set asked for so far). */
  allQueues(): Promise<Queue<BuildJob>[]>;
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
 * 3. reads the build's event stream into the sinks (on from where an earlier server process left
 *    it) until the worker's results come, or the job is lost (failed by BullMQ, or gone from
 *    Redis: then a `pyci` step in `error` says why); stopped for good (superseded, cancelled),
 *    it tells the workers on the cancel channel.
 * Its builds go on without the server (detached): a restarted server follows them again.
 */
export function queueExecutor(options: QueueExecutorOptions): BuildExecutor {
  const mask = maskSecrets(options.secrets);
  return {
    detached: true,
    // whichever queue holds it
    async stop(buildId) {
      await stopOnWorkers(options.redis, await options.allQueues(), buildId);
    },
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
      const cancel = () => {
        if ((signal?.reason as StopReason | undefined)?.kind === "shutdown") return;
        stopOnWorkers(options.redis, [queue], buildId).catch((err: unknown) => log.warn({ err }, "could not cancel"));
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
          onTokenRequest: (publicKey) => answerTokenRequest(options, build.request, buildId, publicKey, log),
          ...(build.resumeFrom ? { from: build.resumeFrom } : {}),
          ...(signal ? { signal } : {}),
        });
        // the worker tidies its own directories; the stream goes once the results are reported
        // (until then a restarted server reads it again; left behind, it expires in a day)
        const tidy = () =>
          options.redis.del(buildStreamKey(buildId)).then(
            () => undefined,
            (err: unknown) => log.warn({ err }, "could not remove the build's stream from Redis: it expires in a day"),
          );
        return { results, tidy };
      } catch (error) {
        if (!(error instanceof LostBuildError)) throw error;
        log.error({ reason: error.message }, "no worker will finish the build");
        const lost: StepResult = {
          name: "pyci",
          state: "error",
          summary: error.message,
          exitCode: null,
          durationMs: 0,
        };
        return { results: [lost], tidy: async () => undefined };
      } finally {
        signal?.removeEventListener("abort", cancel);
        reader.disconnect();
        options.handOver?.settled(build);
      }
    },
  };
}

/**
 * A build stopped for good: a job still waiting leaves `queues` (BullMQ refuses to remove a running
 * one), and a worker running it is told on the cancel channel.
 */
async function stopOnWorkers(redis: Redis, queues: Queue<BuildJob>[], buildId: string): Promise<void> {
  for (const queue of queues) await queue.remove(buildId).catch(() => undefined);
  await redis.publish(CANCEL_CHANNEL, buildId);
}

/**
 * The worker's request for a clone token: the token minted for this one repository, encrypted to
 * the worker's key, or why none could be minted (the worker's clone fails at once, saying so).
 */
async function answerTokenRequest(
  options: QueueExecutorOptions,
  request: BuildRequest,
  buildId: string,
  publicKey: string,
  log: Logger,
): Promise<void> {
  const minted = await options.scopedToken(request).then(
    (token) => ({ token }),
    (error: unknown) => ({ error: `the server could not mint a clone token: ${(error as Error).message}` }),
  );
  try {
    await sendCloneToken(options.redis, buildId, publicKey, minted);
    if ("error" in minted) log.warn({ reason: minted.error }, "told the worker why it gets no clone token");
    else log.info("clone token sent to the worker, encrypted to its key");
  } catch (err) {
    log.warn({ err }, "could not answer the worker's clone token request");
  }
}
