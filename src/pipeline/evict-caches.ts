import { randomUUID } from "node:crypto";
import { lstat, readdir, rename, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { tryFileLock } from "../checkout/file-lock.js";
import { GIT_CACHE, liveReaders, mirrorLastUsed, mirrorLockPath } from "../checkout/mirror-files.js";
import type { CacheSettings } from "../checkout/repo-cache.js";
import { ENVS, envLastUsed, envLockPath, isEnvName } from "./env-cache/env-files.js";
import { RESULTS, resultLastUsed } from "./result-cache.js";

export interface Eviction {
  /** Size of both caches before and after. */
  beforeBytes: number;
  afterBytes: number;
  /** Paths removed. */
  evicted: string[];
}

/** Leftovers of a killed server (a mirror being made or removed, a result being written) older than this go too. */
const LEFTOVER_AGE_MS = 60 * 60 * 1000;

let running: Promise<Eviction> | undefined;

/**
 * Keeps the git cache, the result cache and the environment cache together
 * under `maxBytes`: the least recently used entries go first, never a
 * mirror that a checkout borrows from or an environment a running build
 * uses, nor one whose lock another build holds (it is skipped; a later
 * build evicts it). One eviction at a time per process.
 */
export function evictCaches(cache: CacheSettings): Promise<Eviction> {
  running ??= evict(cache).finally(() => (running = undefined));
  return running;
}

interface Entry {
  path: string;
  kind: "mirror" | "result" | "env";
  bytes: number;
  lastUsed: number;
}

async function evict(cache: CacheSettings): Promise<Eviction> {
  const entries = [
    ...(await cacheEntries(
      join(cache.dir, GIT_CACHE),
      "mirror",
      (path) => mirrorLastUsed(path).catch(() => 0),
      (name) => name.endsWith(".git"),
    )),
    ...(await cacheEntries(join(cache.dir, RESULTS), "result", resultLastUsed)),
    ...(await cacheEntries(join(cache.dir, ENVS), "env", envLastUsed, isEnvName)),
  ];
  const beforeBytes = entries.reduce((sum, e) => sum + e.bytes, 0);
  let total = beforeBytes;
  const evicted: string[] = [];
  for (const entry of entries.sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= cache.maxBytes) break;
    if (await remove(entry)) {
      total -= entry.bytes;
      evicted.push(entry.path);
    }
  }
  return { beforeBytes, afterBytes: total, evicted };
}

/**
 * The entries of one cache folder: each named one (`named`: mirrors end in .git) with its size and last
 * use; what a killed server left half made (names starting with ".") is removed once it is old.
 */
async function cacheEntries(
  root: string,
  kind: Entry["kind"],
  lastUsed: (path: string) => Promise<number>,
  named: (name: string) => boolean = () => true,
): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const name of await listOrEmpty(root)) {
    const path = join(root, name);
    if (name.startsWith(".")) {
      await removeLeftover(path);
      continue;
    }
    if (!named(name)) continue;
    entries.push({ path, kind, bytes: await sizeOf(path), lastUsed: await lastUsed(path) });
  }
  return entries;
}

async function remove(entry: Entry): Promise<boolean> {
  if (entry.kind === "result") return removeAside(entry.path);
  const lock =
    entry.kind === "env" ? envLockPath(join(entry.path, ".."), basename(entry.path)) : mirrorLockPath(entry.path);
  const release = await tryFileLock(lock);
  if (!release) return false;
  try {
    if ((await liveReaders(entry.path)).length > 0) return false;
    return await removeAside(entry.path);
  } finally {
    await release();
  }
}

/** Renamed out of the way first: a reader sees the whole entry or none. */
async function removeAside(path: string): Promise<boolean> {
  const aside = join(path, "..", `.evict-${randomUUID()}`);
  try {
    await rename(path, aside);
  } catch {
    return false;
  }
  await rm(aside, { recursive: true, force: true });
  return true;
}

async function removeLeftover(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (info && Date.now() - info.mtimeMs > LEFTOVER_AGE_MS) await rm(path, { recursive: true, force: true });
}

async function sizeOf(path: string): Promise<number> {
  const info = await lstat(path).catch(() => undefined);
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const name of await listOrEmpty(path)) total += await sizeOf(join(path, name));
  return total;
}

async function listOrEmpty(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}
