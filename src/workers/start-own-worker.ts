import { hostname } from "node:os";
import type { Logger } from "probot";
import type { BuildExecutor } from "../builds/build-executor.js";
import type { Config } from "../config.js";
import { startWorker, type RunningWorker } from "./start-worker.js";

export interface OwnWorker {
  /** As `pyci worker` on SIGTERM: nothing new, running builds get `graceMs`, then go back to the queue. */
  close(graceMs: number): Promise<void>;
}

/**
 * CI_SERVER_BUILDS: the server takes builds from the workers' queues as well, as one more worker
 * named `<hostname>-server`, with the executor it would use without Redis (its sandbox, its
 * CI_CONCURRENCY, CI_WORKER_LABELS). It connects in the background: a server whose Redis is away
 * still starts, accepts deliveries and records them.
 */
export function startOwnWorker(config: Config, executor: BuildExecutor, log: Logger): OwnWorker {
  const name = `${hostname()}-server`;
  let running: RunningWorker | undefined;
  const starting = startWorker({
    redisUrl: config.redisUrl!,
    name,
    labels: config.workerLabels,
    concurrency: config.concurrency,
    lockMs: config.workerLockMs,
    stepOutputCapBytes: config.stepOutputCapBytes,
    executor,
    log: log.child({ worker: name }),
  }).then(
    (worker) => (running = worker),
    (err: unknown) =>
      log.error({ err }, "the server's own worker could not start: it builds nothing (CI_SERVER_BUILDS)"),
  );
  return {
    async close(graceMs) {
      // not connected yet (Redis away): it holds no build
      if (!running) return void starting.then((worker) => worker?.close(0));
      await running.close(graceMs);
    },
  };
}
