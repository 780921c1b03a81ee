import type { Queue } from "bullmq";
import type { BuildJob } from "./build-job.js";

/** BullMQ's reason for a job that stalled more often than a worker's maxStalledCount allows. */
const STALLED_TOO_OFTEN = "job stalled more than allowable limit";

/** Why a build's job will send nothing more, in words for the person who pushed, or undefined while it may. */
export async function lostJob(queue: Queue<BuildJob>, buildId: string): Promise<string | undefined> {
  const state = await queue.getJobState(buildId);
  if (state === "unknown")
    return "No worker finished this build: its job is gone from Redis (was Redis restarted without persistence?). Push again or re-run it.";
  if (state !== "failed") return undefined;
  const job = await queue.getJob(buildId);
  if (job?.failedReason === STALLED_TOO_OFTEN)
    return `No worker finished this build: its worker was lost ${job.stalledCounter} times (killed, or its host lost). Look at the workers' logs for build ${buildId}, then re-run it.`;
  return `No worker finished this build: its job failed on the workers (${job?.failedReason ?? "no reason given"}).`;
}
