import { createHash } from "node:crypto";
import { readdir, readFile, stat, unlink } from "node:fs/promises";
import { join } from "node:path";
import { alive } from "../process/alive.js";
import { exists } from "./exists.js";
import { redactUrl } from "./git-command.js";

/*
 * A git cache mirror as files, what both repo-cache.ts (which makes and
 * lends mirrors) and the eviction (pipeline/evict-caches.ts) read: its
 * name, its lock, the checkouts borrowing from it, when it was last used.
 */

/** The folder of CI_DATA_DIR that holds the mirrors. */
export const GIT_CACHE = "git-cache";
/** In a mirror: one file per checkout borrowing its objects ({ pid, checkout }). */
export const READERS = "pyci-readers";
/** In a mirror: touched whenever a checkout borrows from it. */
export const LAST_USED = "pyci-last-used";

/**
 * The mirror's directory name: a readable slug of the URL (host and path,
 * without any user or password; only [A-Za-z0-9._-], so it cannot leave
 * git-cache/) and a hash of the whole URL (two URLs never share a mirror).
 */
export function mirrorName(url: string): string {
  const hash = createHash("sha256").update(url).digest("hex").slice(0, 16);
  const slug = redactUrl(url)
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")
    .replace(/^[^@/]*@/, "")
    .replace(/\.git\/?$/, "")
    .replace(/[^A-Za-z0-9._-]+/g, "_")
    .slice(-60)
    .replace(/^[._-]+/, "");
  return `${slug || "repo"}-${hash}.git`;
}

/** Every mirror's lock file: <mirror>.lock, next to it (it outlives the mirror's removal). */
export function mirrorLockPath(mirror: string): string {
  return `${mirror}.lock`;
}

/** The checkouts that borrow from a mirror right now (their process is alive and their checkout exists). */
export async function liveReaders(mirror: string): Promise<string[]> {
  const dir = join(mirror, READERS);
  const names = await readdir(dir).catch(() => [] as string[]);
  const live: string[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const reader = await readFile(path, "utf8").then(
      (text) => JSON.parse(text) as { pid?: unknown; checkout?: unknown },
      () => undefined,
    );
    if (
      reader &&
      typeof reader.pid === "number" &&
      typeof reader.checkout === "string" &&
      alive(reader.pid) &&
      (await exists(reader.checkout))
    ) {
      live.push(reader.checkout);
    } else {
      await unlink(path).catch(() => undefined);
    }
  }
  return live;
}

/** When a mirror was last used (for eviction): the mtime of its marker, else of the directory. */
export async function mirrorLastUsed(mirror: string): Promise<number> {
  const marker = await stat(join(mirror, LAST_USED)).catch(() => undefined);
  return marker?.mtimeMs ?? (await stat(mirror)).mtimeMs;
}
