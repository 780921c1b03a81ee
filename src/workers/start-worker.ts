import { WaitingError, Worker, type Processor } from "bullmq";
import type { Logger } from "probot";
import type { BuildExecutor } from "../builds/build-executor.js";
import type { StopReason } from "../builds/stop-reason.js";
import { servesLabels } from "../model/worker-labels.js";
import { buildQueueName, type BuildJob } from "./build-job.js";
import { CANCEL_CHANNEL } from "./build-stream.js";
import { connectRedis } from "./connect-redis.js";
import { knownLabelSets } from "./label-sets.js";
import { runBuildJob } from "./run-build-job.js";
import { HEARTBEAT_MS, removeHeartbeat, writeHeartbeat } from "./worker-heartbeat.js";
import { WorkerSlots } from "./worker-slots.js";

export interface WorkerOptions {
  redisUrl: string;
  /** CI_WORKER_NAME. */
  name: string;
  /** CI_WORKER_LABELS, sorted: the worker serves every queue whose label set it has. */
  labels: string[];
  /** CI_CONCURRENCY: builds this worker runs at once, over all the queues it serves. */
  concurrency: number;
  /**
   * CI_WORKER_LOCK: how long the worker's lock on a build lasts without renewal (BullMQ renews it
   * at half that), and how often workers look for builds whose lock expired: a worker killed
   * mid-build loses its builds to another worker within about twice this (docs/scale-out.md).
   */
  lockMs: number;
  /** CI_STEP_OUTPUT_CAP: the worker sends at most twice this of one step's output (capped-log.ts). */
  stepOutputCapBytes?: number;
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
 * 1. connects to Redis (one connection for the streams and heartbeats, one for the cancel
 *    channel; BullMQ its own per queue);
 * 2. serves the queue of every label set it has (one BullMQ Worker each), `concurrency` builds at
 *    a time in all, each run by runBuildJob;
 * 3. says it is alive every HEARTBEAT_MS (name, labels, running builds) and looks for label sets
 *    builds asked for since (worker-heartbeat.ts, label-sets.ts);
 * 4. stops a running build when the server says it is superseded or cancelled;
 * 5. closed (SIGTERM), takes nothing more, hands back what outlives the grace, and says it is gone.
 */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { log, name } = options;
  // 1. connections; their errors (Redis away) are logged, and commands wait for it to come back
  const redis = connectRedis(options.redisUrl, `pyci-worker:${name}`);
  const cancels = connectRedis(options.redisUrl, `pyci-worker-cancel:${name}`);
  for (const connection of [redis, cancels])
    connection.on("error", (err: Error) => log.warn({ err: err.message }, "Redis connection error"));
  const running = new Map<string, AbortController>();

  // 2. the queues. Each BullMQ Worker may fetch up to `concurrency` jobs, so together they could
  //    fetch more: a job runs only with one of the shared slots. When the slots are full every
  //    Worker pauses (it fetches nothing more); a job one fetched in the moment before is given
  //    back before anything of it ran — moveToWait, nothing sent on its stream, its data as it
  //    was — and another worker (or this one, once a slot is free) takes it as if it had waited.
  const queues = new Map<string, Worker<BuildJob>>();
  const slots = new WorkerSlots(options.concurrency, (full) => {
    for (const worker of queues.values())
      (full ? worker.pause(true) : worker.resume()).catch((err: unknown) => log.warn({ err }, "could not pause"));
  });
  const processor: Processor<BuildJob> = async (job, token) => {
    if (!slots.take()) return giveBack(job, token);
    const controller = new AbortController();
    running.set(job.data.buildId, controller);
    try {
      const deps = {
        executor: options.executor,
        redis,
        worker: name,
        log,
        ...(options.stepOutputCapBytes ? { outputCapBytes: 2 * options.stepOutputCapBytes } : {}),
      };
      if ((await runBuildJob(deps, job, controller.signal)) === "done") return;
    } finally {
      running.delete(job.data.buildId);
      slots.release();
    }
    return giveBack(job, token);
  };
  let closing = false;
  const serve = (labels: string[]) => {
    const queueName = buildQueueName(labels);
    if (closing || queues.has(queueName) || !servesLabels(options.labels, labels)) return;
    const worker = new Worker<BuildJob>(queueName, processor, {
      connection: connectRedis(options.redisUrl, `pyci-worker-queue:${name}`),
      concurrency: options.concurrency,
      lockDuration: options.lockMs,
      stalledInterval: options.lockMs,
      maxStalledCount: MAX_HANDOVERS,
      name,
    });
    worker.on("error", (err) => log.warn({ err: err.message, queue: queueName }, "BullMQ worker error"));
    queues.set(queueName, worker);
    if (slots.full) worker.pause(true).catch(() => undefined);
    log.info({ queue: queueName }, "serving a queue");
  };

  // 3. the heartbeat, and the queues of label sets asked for since the last one
  const startedAt = new Date().toISOString();
  const beat = async () => {
    await writeHeartbeat(redis, {
      name,
      labels: options.labels,
      concurrency: options.concurrency,
      running: [...running.keys()],
      startedAt,
      lastSeen: new Date().toISOString(),
    });
    for (const labels of await knownLabelSets(redis)) serve(labels);
  };
  await beat();
  // one beat at a time: while Redis is away a beat waits for it, and the next ones are skipped
  let inFlight = false;
  const beating = setInterval(() => {
    if (inFlight) return;
    inFlight = true;
    beat()
      .catch((err: unknown) => log.warn({ err }, "could not write the worker's heartbeat"))
      .finally(() => {
        inFlight = false;
      });
  }, HEARTBEAT_MS);

  // 4. the cancel channel
  await cancels.subscribe(CANCEL_CHANNEL);
  cancels.on("message", (_channel: string, buildId: string) => {
    const controller = running.get(buildId);
    if (!controller) return;
    log.info({ buildId }, "build stopped by the server");
    controller.abort({ kind: "cancelled" } satisfies StopReason);
  });
  await Promise.all([...queues.values()].map((worker) => worker.waitUntilReady()));
  log.info({ worker: name, labels: options.labels, concurrency: options.concurrency }, "pyci worker ready");
  return {
    // 5. closed
    async close(graceMs) {
      closing = true;
      clearInterval(beating);
      const stop = setTimeout(() => {
        for (const controller of running.values()) controller.abort({ kind: "shutdown" } satisfies StopReason);
      }, graceMs);
      await Promise.all([...queues.values()].map((worker) => worker.close()));
      clearTimeout(stop);
      await removeHeartbeat(redis, name).catch((err: unknown) => log.warn({ err }, "could not remove the heartbeat"));
      await Promise.all([redis.quit(), cancels.quit()]);
    },
  };
}

/** Back to the queue, as it was: BullMQ's way for a processor to give a job up. */
async function giveBack(job: Parameters<Processor<BuildJob>>[0], token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  throw new WaitingError();
}
