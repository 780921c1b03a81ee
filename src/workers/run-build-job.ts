import type { Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "probot";
import type { BuildExecutor } from "../builds/build-executor.js";
import type { StopReason } from "../builds/stop-reason.js";
import { RepoConfigError } from "../pipeline/repo-config.js";
import type { BuildJob } from "./build-job.js";
import { buildStreamKey, STREAM_TTL_SECONDS } from "./build-stream.js";
import { requestCloneToken } from "./clone-token-exchange.js";
import { streamSinks } from "./stream-sinks.js";

export interface BuildJobDeps {
  /** The worker's local executor: its work dir, caches, sandbox and SSH key. */
  executor: BuildExecutor;
  /** The worker's connection for the build streams. */
  redis: Redis;
  /** CI_WORKER_NAME: shown with the builds this worker runs. */
  worker: string;
  /** What it sends of one step's output at most (twice CI_STEP_OUTPUT_CAP; capped-log.ts). */
  outputCapBytes?: number;
  log: Logger;
}

/**
 * Runs one job on a worker (BullMQ's processor):
 * 1. says the worker took it (and which attempt this is);
 * 2. runs the build's pipeline through the worker's executor, each step's events sent as they come;
 * 3. sends the results, or why the build could not run at all — unless the worker is shutting
 *    down (the signal's reason is `shutdown`): then it says nothing more and returns
 *    "hand back", for the caller to put the job back in the queue for another worker;
 * 4. removes the build's directories and bounds the caches.
 * It never throws: the server learns everything from the stream, and BullMQ only re-runs a job
 * whose worker stopped renewing its lock (killed, or its host lost).
 */
export async function runBuildJob(
  deps: BuildJobDeps,
  job: Job<BuildJob>,
  signal: AbortSignal,
): Promise<"done" | "hand back"> {
  const { buildId, request } = job.data;
  const log = deps.log.child({ buildId, repo: `${request.owner}/${request.repo}`, sha: request.sha });
  const sinks = streamSinks(deps.redis, buildId, deps.worker, log, deps.outputCapBytes);
  // 1. taken
  sinks.send({ t: "taken", worker: deps.worker, attempt: job.attemptsStarted || 1 });
  log.info({ attempt: job.attemptsStarted }, "build taken");
  try {
    // 2. the pipeline
    const { repoConfig } = job.data;
    const config =
      "config" in repoConfig
        ? Promise.resolve(repoConfig.config)
        : Promise.reject(new RepoConfigError(repoConfig.error));
    // read only once the code is here: a failed checkout never reads it
    config.catch(() => undefined);
    const { results, tidy } = await deps.executor.execute(
      {
        request,
        buildId,
        repoConfig: config,
        testDurations: new Map(job.data.testDurations),
        // asked for when the clone starts (a job may wait past a token's hour): one repository, read only
        cloneToken: () =>
          requestCloneToken(deps.redis, buildId, (publicKey) => sinks.send({ t: "token-request", publicKey })),
        log,
        signal,
      },
      sinks,
    );
    // 3. the results, unless another worker is to run the build again
    const handBack = (signal.reason as StopReason | undefined)?.kind === "shutdown";
    if (handBack) log.info("build handed back: this worker is shutting down");
    else {
      sinks.send({ t: "done", results });
      log.info({ steps: results.length }, "build done");
    }
    await sinks.flushed();
    if (!handBack) await expireStream(deps, buildId, log);
    // 4. its directories and the caches, once the server has what it reports
    await tidy();
    return handBack ? "hand back" : "done";
  } catch (error) {
    log.error({ err: error }, "build crashed on the worker");
    sinks.send({ t: "failed", message: `pyci worker ${deps.worker} crashed: ${(error as Error).message}` });
  }
  await sinks.flushed();
  await expireStream(deps, buildId, log);
  return "done";
}

/** The build's stream, read by the server, kept a while for a server that was away (STREAM_TTL_SECONDS). */
async function expireStream(deps: BuildJobDeps, buildId: string, log: Logger): Promise<void> {
  await deps.redis
    .expire(buildStreamKey(buildId), STREAM_TTL_SECONDS)
    .catch((err: unknown) => log.warn({ err }, "could not let the build's stream expire"));
}
