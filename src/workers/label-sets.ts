import type { Redis } from "ioredis";
import { labelSet } from "../model/worker-labels.js";

/**
 * The label sets builds have asked for (`runs_on`), each a queue (buildQueueName): the server adds
 * one before it queues the first build of it, workers read them to learn which queues exist.
 * Members are the sorted labels joined by commas; no `runs_on` (`pyci-builds`) is not listed.
 */
export const LABEL_SETS_KEY = "pyci:label-sets";

export async function recordLabelSet(redis: Redis, labels: readonly string[]): Promise<void> {
  if (labels.length === 0) return;
  await redis.sadd(LABEL_SETS_KEY, labelSet(labels).join(","));
}

/** Every label set asked for so far, the empty one (no `runs_on`) first. */
export async function knownLabelSets(redis: Redis): Promise<string[][]> {
  const members = await redis.smembers(LABEL_SETS_KEY);
  return [[], ...members.sort().map((member) => member.split(","))];
}
