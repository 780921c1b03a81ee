import type { Redis } from "ioredis";

/**
 * What a `pyci worker` says of itself every HEARTBEAT_MS, in a key of its own that expires after
 * HEARTBEAT_TTL_SECONDS: a worker whose key is gone is not connected. (Redis's CLIENT LIST would
 * say the same, but restricted ACL users may not run it.) Nothing secret: the server shows it.
 */
export interface WorkerBeat {
  /** CI_WORKER_NAME. */
  name: string;
  /** CI_WORKER_LABELS, sorted. */
  labels: string[];
  /** CI_CONCURRENCY. */
  concurrency: number;
  /** Ids of the builds it runs now. */
  running: string[];
  /** ISO 8601: when the worker started, and when it last wrote this. */
  startedAt: string;
  lastSeen: string;
}

export const HEARTBEAT_MS = 3_000;
/** A worker missing this long (three beats and a little) is gone: killed, its host lost, or cut off from Redis. */
export const HEARTBEAT_TTL_SECONDS = 10;

/** The set of workers' names whose keys may exist (a SCAN-free way to find them); stale names are dropped by readers. */
const WORKERS_KEY = "pyci:workers";
const beatKey = (name: string) => `pyci:worker:${name}`;

export async function writeHeartbeat(redis: Redis, beat: WorkerBeat): Promise<void> {
  await redis
    .multi()
    .set(beatKey(beat.name), JSON.stringify(beat), "EX", HEARTBEAT_TTL_SECONDS)
    .sadd(WORKERS_KEY, beat.name)
    .exec();
}

/** A worker that stops says so at once, rather than HEARTBEAT_TTL_SECONDS later. */
export async function removeHeartbeat(redis: Redis, name: string): Promise<void> {
  await redis.multi().del(beatKey(name)).srem(WORKERS_KEY, name).exec();
}

/** The workers connected now, by name; names whose key expired are removed from the set. */
export async function readHeartbeats(redis: Redis): Promise<WorkerBeat[]> {
  const names = (await redis.smembers(WORKERS_KEY)).sort();
  if (names.length === 0) return [];
  const values = await redis.mget(names.map(beatKey));
  const gone = names.filter((_name, i) => values[i] === null);
  if (gone.length > 0) await redis.srem(WORKERS_KEY, ...gone);
  return values.flatMap((value) => (value === null ? [] : [parseBeat(value)].filter((b) => b !== undefined)));
}

function parseBeat(value: string): WorkerBeat | undefined {
  try {
    const beat = JSON.parse(value) as WorkerBeat;
    return typeof beat.name === "string" && Array.isArray(beat.labels) && Array.isArray(beat.running)
      ? beat
      : undefined;
  } catch {
    return undefined;
  }
}
