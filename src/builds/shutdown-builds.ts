import { setTimeout as sleep } from "node:timers/promises";
import type { BuildDeps } from "./build-deps.js";
import type { StopReason } from "./stop-reason.js";

/** After the grace period, how long the stopped builds get to kill their processes and record themselves as queued. */
const STOP_WAIT_MS = 15_000;

/**
 * A graceful stop of the builds (SIGTERM):
 * 1. the queue starts nothing more; waiting builds stay queued in the store
 *    (the next start of pyci runs them);
 * 2. running builds get `graceMs` to finish and report — none when they go on
 *    without this process (a detached executor: workers build them);
 * 3. those still running then are stopped: their process trees are killed
 *    and they go back to `queued`, to run again from the start next time
 *    (detached ones are only no longer followed: the next start reads on).
 * Resolves with what happened; never rejects.
 */
export async function shutdownBuilds(deps: BuildDeps, graceMs: number): Promise<"drained" | "stopped"> {
  // 1. nothing new starts; builds that go on without this process (on workers) get no grace
  deps.queue.pause();
  const waitMs = deps.executor.detached ? 0 : graceMs;
  deps.log.info(
    { running: deps.queue.running, waiting: deps.queue.length, graceMs: waitMs },
    "shutting down: waiting for running builds",
  );

  // 2. the grace period
  const grace = new AbortController();
  const drained = await Promise.race([
    deps.queue.onIdle().then(() => true),
    sleep(waitMs, false, { signal: grace.signal }).catch(() => false),
  ]);
  grace.abort();
  if (drained) return "drained";

  // 3. stopped, back to queued
  deps.log.warn(
    { running: deps.queue.running },
    "grace period over: stopping the running builds; they run again at the next start",
  );
  const reason: StopReason = { kind: "shutdown" };
  deps.queue.abortRunning(reason);
  const wait = new AbortController();
  await Promise.race([
    deps.queue.onIdle(),
    sleep(STOP_WAIT_MS, undefined, { signal: wait.signal }).catch(() => undefined),
  ]);
  wait.abort();
  return "stopped";
}
