import { randomUUID } from "node:crypto";
import { link, open, readFile, rename, stat, unlink, utimes, type FileHandle } from "node:fs/promises";
import { alive } from "../process/alive.js";

export interface FileLockOptions {
  /** Give up (LockTimeoutError) after this long. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Called once when the lock is busy and the caller has to wait. */
  onWait?(): void;
}

export class LockTimeoutError extends Error {
  override name = "LockTimeoutError";
}

export class LockCancelledError extends Error {
  override name = "LockCancelledError";
}

/** Releases a lock; safe to call twice. */
export type ReleaseLock = () => Promise<void>;

/** A holder refreshes its lock file's mtime this often … */
const HEARTBEAT_MS = 5_000;
/** … so a lock file this much older than that belongs to a process that is gone (or frozen). */
export const STALE_LOCK_MS = 30_000;
const POLL_MS = 100;

/** Callers of this process, queued per lock path: they never poll each other. */
const queues = new Map<string, Promise<void>>();

/**
 * An exclusive lock between builds of this process and of other pyci
 * processes on the same host: an in-process queue, then a lock file created
 * with O_EXCL that holds the owner's pid and a random token.
 *
 * A lock file is stale when its pid is not alive or its mtime is older than
 * STALE_LOCK_MS (the holder touches it every HEARTBEAT_MS; a restarted
 * container gets the same pid again). A stale file is renamed aside before
 * it is deleted, and put back if it turned out to be a fresh lock taken in
 * the meantime, so two waiters never both take over.
 */
export async function fileLock(path: string, options: FileLockOptions): Promise<ReleaseLock> {
  const deadline = Date.now() + options.timeoutMs;
  let waited = false;
  const wait = () => {
    if (!waited) options.onWait?.();
    waited = true;
  };

  // 1. this process: wait for the callers before us
  const before = queues.get(path) ?? Promise.resolve();
  let leaveQueue!: () => void;
  const mine = new Promise<void>((resolve) => (leaveQueue = resolve));
  const queued = before.then(() => mine);
  queues.set(path, queued);
  const dequeue = () => {
    leaveQueue();
    if (queues.get(path) === queued) queues.delete(path);
  };
  try {
    if (!(await settled(before, 0))) wait();
    await raceDeadline(before, deadline, options.signal);
  } catch (error) {
    dequeue();
    throw error;
  }

  // 2. other processes: the lock file
  const token = `${process.pid} ${randomUUID()}`;
  try {
    for (;;) {
      if (await tryCreate(path, token)) break;
      if (await removeIfStale(path)) continue;
      wait();
      await raceDeadline(sleep(POLL_MS), deadline, options.signal);
    }
  } catch (error) {
    dequeue();
    throw error;
  }

  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    clearInterval(heartbeat);
    // only our own file: after a freeze longer than STALE_LOCK_MS someone may have taken over
    if ((await readFile(path, "utf8").catch(() => undefined)) === token) await unlink(path).catch(() => undefined);
    dequeue();
  };
}

/** One attempt, without waiting: the release function, or undefined when the lock is busy. */
export async function tryFileLock(path: string): Promise<ReleaseLock | undefined> {
  if (queues.has(path)) return undefined;
  try {
    return await fileLock(path, { timeoutMs: 0 });
  } catch (error) {
    if (error instanceof LockTimeoutError) return undefined;
    throw error;
  }
}

async function tryCreate(path: string, token: string): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(path, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(token);
  } finally {
    await handle.close();
  }
  return true;
}

/** True when the lock file was stale (or gone) and the caller should try again at once. */
async function removeIfStale(path: string): Promise<boolean> {
  let content: string;
  let mtimeMs: number;
  try {
    [content, { mtimeMs }] = await Promise.all([readFile(path, "utf8"), stat(path)]);
  } catch {
    return true; // released in the meantime
  }
  const pid = Number(content.split(" ")[0]);
  // a holder that has just created the file has not written its token yet
  if (content === "" && Date.now() - mtimeMs < STALE_LOCK_MS) return false;
  if (alive(pid) && Date.now() - mtimeMs < STALE_LOCK_MS) return false;
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch {
    return true;
  }
  const moved = await readFile(aside, "utf8").catch(() => "");
  if (moved !== content) {
    // a fresh lock, taken between our read and the rename: put it back
    await link(aside, path).catch(() => undefined);
  }
  await unlink(aside).catch(() => undefined);
  return true;
}

async function settled(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await sleep(ms);
  return done;
}

function raceDeadline<T>(promise: Promise<T>, deadline: number, signal: AbortSignal | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) return reject(new LockCancelledError("Cancelled"));
    const remaining = deadline - Date.now();
    const timer = setTimeout(
      () => finish(() => reject(new LockTimeoutError("Timed out waiting for the lock"))),
      Math.max(0, remaining),
    );
    const onAbort = () => finish(() => reject(new LockCancelledError("Cancelled")));
    signal?.addEventListener("abort", onAbort, { once: true });
    function finish(settle: () => void) {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      settle();
    }
    promise.then(
      (value) => finish(() => resolve(value)),
      (error: unknown) => finish(() => reject(error as Error)),
    );
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
