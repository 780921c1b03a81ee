import { randomUUID } from "node:crypto";
import { appendFile, mkdir, readdir, readFile, rename, rm, unlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileLock, LockCancelledError, LockTimeoutError } from "./file-lock.js";
import { CheckoutError, GitAbortedError, gitCommand, type CloneSource, type GitCommand } from "./git-command.js";
import { exists } from "./exists.js";
import { GIT_CACHE, LAST_USED, liveReaders, mirrorLockPath, mirrorName, READERS } from "./mirror-files.js";
import type { LogSink } from "../model/log-sink.js";

/** Where the caches live and how big they may grow (CI_DATA_DIR, CI_CACHE_MAX_SIZE). */
export interface CacheSettings {
  /** CI_DATA_DIR: mirrors go to <dir>/git-cache, step results to <dir>/results. */
  dir: string;
  maxBytes: number;
}

export interface MirrorRequest {
  cache: CacheSettings;
  source: CloneSource;
  sha: string;
  /** refs/pull/<n>/head is fetched when the commit itself cannot be (forks). */
  prNumber?: number;
  /** The checkout that will borrow the mirror's objects: the mirror counts as in use while it exists. */
  checkoutDir: string;
  scratchDir: string;
  log: LogSink;
  timeoutMs: number;
  signal?: AbortSignal;
  /** The mirror is damaged (a checkout from it failed): clone it afresh. */
  rebuild?: boolean;
}

/** The right to borrow a mirror's objects until `release()`. */
export interface MirrorLease {
  /** The mirror's objects directory: the checkout's objects/info/alternates. */
  objectsDir: string;
  /** The mirror's `shallow` file ("" when it has none): the checkout's own, so that git knows where history stops. */
  shallow: string;
  /** Created by this lease (a failure then is not the cache's fault). */
  fresh: boolean;
  release(): Promise<void>;
}

/** Compact a mirror (one pack, old refs dropped) once it has this many packs (each fetch adds one). */
const MAX_PACKS = 32;
/** refs/pyci/* kept by a compaction: the newest commits; what only older ones reach is dropped. */
const KEEP_REFS = 256;
const DAMAGED = "pyci-damaged";

/**
 * A per-repository git object cache: a bare mirror in
 * <CI_DATA_DIR>/git-cache/<name>.git (see mirrorName) that holds every
 * commit built so far, fetched incrementally with the checkout's own
 * requests (the commit at --depth=1, or refs/pull/<n>/head), so that
 * the next build of the repository transfers only what is new, or nothing.
 *
 * Under the mirror's lock (fileLock: other builds of this process and other
 * pyci processes wait):
 * 1. git's own lock files left by a killed fetch are removed;
 * 2. a mirror marked damaged, or that `request.rebuild` says is, is made
 *    afresh, unless another checkout borrows from it: then undefined (the
 *    caller clones without the cache);
 * 3. the commit is fetched unless the mirror has it (under refs/pyci/<sha>,
 *    which every fetch of it writes: no git process asks); a fetch that fails in
 *    an existing mirror is tried once more in a fresh one, which replaces
 *    it when that works (a commit that is really gone leaves the cache as it was);
 * 4. a mirror with many packs, and no checkout borrowing from it, is compacted;
 * 5. the checkout is registered as a reader (released by `release()`).
 *
 * The source's credentials reach git only through its environment: the
 * URL is passed on the command line of each fetch, never stored in the
 * mirror's config.
 */
export async function leaseMirror(request: MirrorRequest): Promise<MirrorLease | undefined> {
  const root = join(request.cache.dir, GIT_CACHE);
  await mkdir(root, { recursive: true, mode: 0o755 });
  const mirror = join(root, mirrorName(request.source.url));
  const release = await lockMirror(mirror, request);
  try {
    // 1. what a killed git left behind
    await removeGitLocks(mirror);
    // 2. damaged: afresh, when nobody borrows from it
    let fresh = false;
    if (request.rebuild || (await exists(join(mirror, DAMAGED)))) {
      if ((await liveReaders(mirror)).length > 0) {
        await writeFile(join(mirror, DAMAGED), "").catch(() => undefined);
        request.log.write(
          "The git cache of this repository looks damaged and other builds use it: cloning without it\n",
        );
        return undefined;
      }
      request.log.write("Rebuilding the git cache of this repository\n");
      await discard(mirror, root);
    }
    if (!(await exists(mirror))) {
      await createMirror(mirror, root, request);
      fresh = true;
    }
    // 3. the commit
    const git = mirrorGit(mirror, request);
    // a commit fetched before has its own ref (were its objects lost since, the checkout fails and the mirror is made afresh)
    if (await hasOwnRef(mirror, request.sha)) {
      request.log.write(`Commit ${request.sha.slice(0, 7)} is already in the git cache\n`);
    } else if (!(await fetchInto(git, request))) {
      if (fresh) throw new CheckoutError(`Could not fetch ${request.sha.slice(0, 7)} from the repository`);
      // the cache's fault, or the repository's? A fresh mirror tells.
      if ((await liveReaders(mirror)).length > 0) {
        request.log.write("The fetch into the git cache failed and other builds use it: cloning without it\n");
        return undefined;
      }
      request.log.write("The fetch into the git cache failed: trying again with a fresh cache\n");
      const candidate = join(root, `.tmp-${randomUUID()}.git`);
      await createMirror(candidate, root, request);
      if (!(await fetchInto(mirrorGit(candidate, request), request))) {
        await rm(candidate, { recursive: true, force: true });
        throw new CheckoutError(`Could not fetch ${request.sha.slice(0, 7)} from the repository`);
      }
      await discard(mirror, root);
      await rename(candidate, mirror);
      fresh = true;
    }
    // fetched by id, or reached from the pull request's head
    if (!(await hasOwnRef(mirror, request.sha))) throw notInRepository(request.sha);
    // 4. compaction, between builds; a mirror that cannot be compacted is made afresh
    if (!(await compact(mirror, git, request.log))) {
      request.log.write("The git cache could not be compacted: making it afresh\n");
      await discard(mirror, root);
      await createMirror(mirror, root, request);
      fresh = true;
      if (!(await fetchInto(git, request)))
        throw new CheckoutError(`Could not fetch ${request.sha.slice(0, 7)} from the repository`);
      if (!(await hasOwnRef(mirror, request.sha))) throw notInRepository(request.sha);
    }
    // 5. in use until released
    const reader = join(mirror, READERS, `${randomUUID()}.json`);
    await mkdir(join(mirror, READERS), { recursive: true });
    await writeFile(reader, JSON.stringify({ pid: process.pid, checkout: request.checkoutDir }));
    const now = new Date();
    await writeFile(join(mirror, LAST_USED), "");
    await utimes(join(mirror, LAST_USED), now, now);
    const shallow = await readFile(join(mirror, "shallow"), "utf8").catch(() => "");
    return {
      objectsDir: join(mirror, "objects"),
      shallow,
      fresh,
      release: () => unlink(reader).catch(() => undefined),
    };
  } finally {
    await release();
  }
}

async function lockMirror(mirror: string, request: MirrorRequest): Promise<() => Promise<void>> {
  try {
    return await fileLock(mirrorLockPath(mirror), {
      timeoutMs: request.timeoutMs,
      ...(request.signal ? { signal: request.signal } : {}),
      onWait: () => request.log.write("Waiting for another build to finish with the git cache of this repository\n"),
    });
  } catch (error) {
    if (error instanceof LockTimeoutError)
      throw new GitAbortedError(
        `Timed out after ${Math.round(request.timeoutMs / 1000)}s waiting for the git cache of this repository`,
      );
    if (error instanceof LockCancelledError) throw new GitAbortedError("Cancelled");
    throw error;
  }
}

function mirrorGit(mirror: string, request: MirrorRequest): GitCommand {
  return gitCommand({
    cwd: mirror,
    scratchDir: request.scratchDir,
    source: request.source,
    log: request.log,
    timeoutMs: request.timeoutMs,
    ...(request.signal ? { signal: request.signal } : {}),
  });
}

/** A bare repository made in a temporary directory and renamed into place: a mirror that exists is whole. */
async function createMirror(mirror: string, root: string, request: MirrorRequest): Promise<void> {
  const temp = join(root, `.tmp-${randomUUID()}.git`);
  await mkdir(temp, { mode: 0o755 });
  const git = mirrorGit(temp, request);
  try {
    await git(["init", "-q", "--bare"]);
    // never gc or prune behind a borrowing checkout's back (compact() does it when nobody borrows);
    // keep every fetch in a pack, so that a mirror is few files
    // and no `git maintenance run --auto` process after each fetch (it would find nothing to do)
    await appendFile(
      join(temp, "config"),
      "[gc]\n\tauto = 0\n[maintenance]\n\tauto = false\n[fetch]\n\tunpackLimit = 1\n[core]\n\tlogAllRefUpdates = false\n",
    );
    await rename(temp, mirror);
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
}

/** The commit as the checkout asked for it before: by id at depth 1, else the pull request's head ref. */
async function fetchInto(git: GitCommand, request: MirrorRequest): Promise<boolean> {
  const url = request.source.url;
  const sha = request.sha;
  if (await git(["fetch", "-q", "--no-tags", "--depth=1", url, `+${sha}:refs/pyci/${sha}`], { allowFailure: true }))
    return true;
  if (request.prNumber === undefined) return false;
  request.log.write(`Fetching refs/pull/${request.prNumber}/head instead\n`);
  if (
    !(await git(
      ["fetch", "-q", "--no-tags", url, `+refs/pull/${request.prNumber}/head:refs/pyci/pull/${request.prNumber}`],
      { allowFailure: true },
    ))
  )
    return false;
  if (await treeOf(git, sha)) await git(["update-ref", `refs/pyci/${sha}`, sha]);
  return true;
}

function notInRepository(sha: string): CheckoutError {
  return new CheckoutError(`Commit ${sha.slice(0, 7)} is not in the repository (force-pushed away?)`);
}

/** refs/pyci/<sha>, loose or packed: the commit was fetched into this mirror (its objects may since have been lost). */
async function hasOwnRef(mirror: string, sha: string): Promise<boolean> {
  if (await exists(join(mirror, "refs", "pyci", sha))) return true;
  const packed = await readFile(join(mirror, "packed-refs"), "utf8").catch(() => "");
  return packed.includes(`${sha} refs/pyci/${sha}\n`);
}

/** The commit's tree id, when the mirror has the commit. */
async function treeOf(git: GitCommand, sha: string): Promise<string | undefined> {
  const tree = (await git.output(["rev-parse", "--verify", "-q", `${sha}^{tree}`]))?.trim();
  return tree && /^[0-9a-f]{40,64}$/.test(tree) ? tree : undefined;
}

/** Many packs and no borrower: the newest refs kept, everything in one pack, the rest pruned. False when git failed. */
async function compact(mirror: string, git: GitCommand, log: LogSink): Promise<boolean> {
  const packs = (await readdir(join(mirror, "objects", "pack")).catch(() => [] as string[])).filter((name) =>
    name.endsWith(".pack"),
  );
  if (packs.length < MAX_PACKS || (await liveReaders(mirror)).length > 0) return true;
  log.write(`Compacting the git cache of this repository (${packs.length} packs)\n`);
  const refs = await git.output(["for-each-ref", "--sort=-committerdate", "--format=%(refname)", "refs/pyci/"]);
  if (refs === undefined) return false;
  for (const ref of refs.split("\n").filter(Boolean).slice(KEEP_REFS)) {
    if (!(await git(["update-ref", "-d", ref], { allowFailure: true }))) return false;
  }
  return (
    (await git(["repack", "-a", "-d", "-q"], { allowFailure: true })) &&
    (await git(["prune", "--expire=now"], { allowFailure: true }))
  );
}

/**
 * Lock files git leaves when it is killed (shallow.lock, refs/…/x.lock,
 * packed-refs.lock) and half-received packs. Called under the mirror's
 * lock: no git runs in the mirror then, so every one of them is stale.
 */
async function removeGitLocks(mirror: string): Promise<void> {
  if (!(await exists(mirror))) return;
  const remove = async (dir: string, recurse: boolean): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && recurse) await remove(path, true);
      else if (entry.name.endsWith(".lock") || entry.name.startsWith("tmp_") || entry.name.startsWith("incoming-"))
        await rm(path, { recursive: true, force: true });
    }
  };
  await remove(mirror, false);
  await remove(join(mirror, "refs"), true);
  await remove(join(mirror, "objects", "pack"), false);
  await remove(join(mirror, "objects"), false);
}

/** Renamed aside first, so that the mirror's path never holds half of one. */
async function discard(mirror: string, root: string): Promise<void> {
  const aside = join(root, `.evict-${randomUUID()}`);
  await rename(mirror, aside).catch(() => undefined);
  await rm(aside, { recursive: true, force: true });
}
