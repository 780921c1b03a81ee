import { lstat, mkdir, mkdtemp, readdir, rm, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  CheckoutError,
  GitAbortedError,
  gitCommand,
  redactUrl,
  type CloneSource,
  type GitCommand,
} from "./git-command.js";
import { rootTreeFromIndex } from "./index-tree.js";
import { leaseMirror, type CacheSettings, type MirrorLease } from "./repo-cache.js";
import type { LogSink } from "../model/log-sink.js";

export { CheckoutError, gitEnv, redactUrl, type CloneSource } from "./git-command.js";
export type { CacheSettings } from "./repo-cache.js";

export interface CheckoutRequest {
  source: CloneSource;
  /** The exact commit to build … */
  sha?: string;
  /** … or a branch, tag or commit to resolve (the CLI's --ref; HEAD when neither is given). */
  ref?: string;
  /** For pull requests: refs/pull/<n>/head is fetched when the commit itself cannot be (forks). */
  prNumber?: number;
  log: LogSink;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Fetch through the per-repository git cache (repo-cache.ts) in this data dir; absent: a plain clone. */
  cache?: CacheSettings;
  /** Refuse to clone with less free disk than this where the workspace is (CI_MIN_FREE_DISK). */
  minFreeDiskBytes?: number;
}

export interface Workspace {
  /** The checkout: the repository at `sha`. */
  dir: string;
  /** Throwaway HOME, TMPDIR and virtualenv of the code under test; outside the checkout. */
  scratchDir: string;
  /** The checkout's git tree (`HEAD^{tree}`), set by `checkout` before any of its code runs. */
  tree?: string;
  /** The git cache's mirrors the checkout borrows objects from (set by `checkout`): `remove()` lets them go. */
  leases: MirrorLease[];
  /**
   * Removes the checkout and lets its mirrors go. The caches are not bounded here: the caller
   * that asked for them calls evictCaches (pipeline/evict-caches.ts) when it is done.
   */
  remove(): Promise<void>;
}

const PREFIX = "pyci-build-";
const MIB = 1024 * 1024;

/**
 * Creates the build's directory; call `checkout` next. Always `remove()` it
 * when the build ends. The directory is new (mkdtemp: made atomically, with
 * a random name that says nothing of the build, 0700, pyci's own), so that
 * nothing else — code a build left running, another user of a shared /tmp —
 * can have made it, or can know or replace its `src/` and `scratch/`.
 */
export async function createWorkspace(workRoot: string): Promise<Workspace> {
  await mkdir(workRoot, { recursive: true });
  const root = await mkdtemp(join(workRoot, PREFIX));
  const dir = join(root, "src");
  const scratchDir = join(root, "scratch");
  await mkdir(dir, { mode: 0o700 });
  await mkdir(scratchDir, { mode: 0o700 });
  const workspace: Workspace = {
    dir,
    scratchDir,
    leases: [],
    async remove() {
      await rm(root, { recursive: true, force: true, maxRetries: 3 });
      for (const lease of workspace.leases.splice(0)) await lease.release().catch(() => undefined);
    },
  };
  return workspace;
}

/**
 * A workspace around a checkout that already exists (GitHub Actions'
 * actions/checkout): only the scratch dir is pyci's, and only it is removed.
 */
export async function existingWorkspace(workRoot: string, dir: string): Promise<Workspace> {
  await mkdir(workRoot, { recursive: true });
  const root = await mkdtemp(join(workRoot, PREFIX));
  const scratchDir = join(root, "scratch");
  await mkdir(scratchDir, { mode: 0o700 });
  return { dir, scratchDir, leases: [], remove: () => rm(root, { recursive: true, force: true, maxRetries: 3 }) };
}

/** Brings an existing checkout to exactly `sha`, fetching it from its origin when it is not there. */
export async function checkoutExisting(
  workspace: Workspace,
  request: CheckoutRequest & { sha: string },
): Promise<string> {
  if (!/^[0-9a-f]{40}$/.test(request.sha)) throw new CheckoutError(`Not a commit id: ${JSON.stringify(request.sha)}`);
  const head = (await readHead(workspace)).trim();
  if (head === request.sha) {
    request.log.write(`Using the existing checkout of ${workspace.dir} at ${head}\n`);
    return head;
  }
  const git = gitRunner(workspace, request);
  request.log.write(`The existing checkout is at ${head || "no commit"}; fetching ${request.sha}\n`);
  const present = await git(["cat-file", "-e", `${request.sha}^{commit}`], { allowFailure: true });
  if (
    !present &&
    !(await git(["fetch", "-q", "--no-tags", "--depth=1", "origin", request.sha], { allowFailure: true }))
  ) {
    throw new CheckoutError(`Could not fetch ${request.sha.slice(0, 7)} into the existing checkout`);
  }
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", request.sha]);
  return request.sha;
}

/**
 * Fetches exactly `sha` (or `ref`) into `workspace.dir` and checks it out
 * (detached); sets `workspace.tree`. Returns the commit.
 *
 * 1. Enough free disk in the work root, or a CheckoutError that says so.
 * 2. With `request.cache`: the commit through the repository's mirror
 *    (fetched only when the mirror lacks it), the checkout borrowing its
 *    objects (objects/info/alternates) until the workspace is removed. A
 *    checkout from an existing mirror that fails is tried once more from a
 *    rebuilt one; a mirror that cannot be used gives way to step 3.
 * 3. Otherwise: the commit itself at depth 1 (GitHub serves any reachable
 *    commit by id) or the pull request's head ref (forks).
 */
export async function checkout(workspace: Workspace, request: CheckoutRequest): Promise<string> {
  // 1. room for it
  if (request.minFreeDiskBytes !== undefined) await ensureFreeDisk(workspace.dir, request.minFreeDiskBytes);
  const git = gitRunner(workspace, request);
  if (request.sha === undefined) {
    await initCheckout(git, request);
    return checkoutRef(workspace, request, git);
  }
  if (!/^[0-9a-f]{40}$/.test(request.sha)) throw new CheckoutError(`Not a commit id: ${JSON.stringify(request.sha)}`);
  const sha = request.sha;

  // 2. through the git cache
  if (request.cache && (await checkoutFromCache(workspace, { ...request, sha, cache: request.cache }, git))) {
    return finishCheckout(workspace, request, git, sha);
  }

  // 3. straight from the repository
  await initCheckout(git, request);
  let fetched = await git(["fetch", "-q", "--no-tags", "--depth=1", "origin", sha], { allowFailure: true });
  if (!fetched && request.prNumber !== undefined) {
    request.log.write(`Fetching refs/pull/${request.prNumber}/head instead\n`);
    fetched = await git(
      ["fetch", "-q", "--no-tags", "origin", `+refs/pull/${request.prNumber}/head:refs/remotes/origin/pr`],
      { allowFailure: true },
    );
  }
  if (!fetched) throw new CheckoutError(`Could not fetch ${sha.slice(0, 7)} from the repository`);
  const present = await git(["cat-file", "-e", `${sha}^{commit}`], { allowFailure: true });
  if (!present) throw new CheckoutError(`Commit ${sha.slice(0, 7)} is not in the repository (force-pushed away?)`);
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", sha]);
  return finishCheckout(workspace, request, git, sha);
}

type CachedRequest = CheckoutRequest & { sha: string; cache: CacheSettings };

/** True when the checkout is done from the cache; false when the caller should clone without it (the directory is then empty). */
async function checkoutFromCache(workspace: Workspace, request: CachedRequest, git: GitCommand): Promise<boolean> {
  const mirrorRequest = {
    cache: request.cache,
    source: request.source,
    sha: request.sha,
    ...(request.prNumber !== undefined ? { prNumber: request.prNumber } : {}),
    checkoutDir: workspace.dir,
    scratchDir: workspace.scratchDir,
    log: request.log,
    timeoutMs: request.timeoutMs,
    ...(request.signal ? { signal: request.signal } : {}),
  };
  let lease = await leaseMirror(mirrorRequest);
  if (!lease) return false;
  try {
    await borrowFrom(lease, workspace, request, git);
  } catch (error) {
    await lease.release();
    if (lease.fresh || error instanceof GitAbortedError) throw error;
    request.log.write("The checkout from the git cache failed: trying again with a fresh cache\n");
    await emptyDir(workspace.dir);
    lease = await leaseMirror({ ...mirrorRequest, rebuild: true });
    if (!lease) return false;
    try {
      await borrowFrom(lease, workspace, request, git);
    } catch (again) {
      await lease.release();
      throw again;
    }
  }
  workspace.leases.push(lease);
  return true;
}

/**
 * A checkout whose object store is the mirror's (read-only to it), HEAD
 * detached at the commit. Its .git is written directly, not by `git init`
 * and `git checkout` (git processes are the fast path's cost): the format is
 * git's oldest, and one `git read-tree` writes the files and the index.
 */
async function borrowFrom(
  lease: MirrorLease,
  workspace: Workspace,
  request: CachedRequest,
  git: GitCommand,
): Promise<void> {
  const gitDir = join(workspace.dir, ".git");
  await Promise.all(
    ["objects/info", "objects/pack", "refs/heads", "refs/tags"].map((dir) =>
      mkdir(join(gitDir, dir), { recursive: true }),
    ),
  );
  await Promise.all([
    writeFile(join(gitDir, "HEAD"), `${request.sha}\n`),
    writeFile(join(gitDir, "config"), checkoutConfig(request.source.url)),
    writeFile(join(gitDir, "objects", "info", "alternates"), `${lease.objectsDir}\n`),
    lease.shallow ? writeFile(join(gitDir, "shallow"), lease.shallow) : undefined,
  ]);
  request.log.write(
    `A checkout whose origin is ${redactUrl(request.source.url)}, borrowing the objects of the git cache\n`,
  );
  // the files and the index of the commit's tree; unlike `git checkout`, read-tree fails when an object is missing
  if (!(await git(["read-tree", "-u", "--reset", request.sha], { allowFailure: true })))
    throw new CheckoutError("The checkout from the git cache is incomplete");
  // the tree as read-tree recorded it (else finishCheckout asks git)
  const tree = await rootTreeFromIndex(join(gitDir, "index"));
  if (tree) workspace.tree = tree;
}

/** What `git init` and `git remote add origin <url>` would write. */
function checkoutConfig(url: string): string {
  if (/[\n\r\0]/.test(url)) throw new CheckoutError("The repository URL has a line break in it");
  const quoted = `"${url.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return [
    "[core]",
    "\trepositoryformatversion = 0",
    "\tfilemode = true",
    "\tbare = false",
    "\tlogallrefupdates = true",
    '[remote "origin"]',
    `\turl = ${quoted}`,
    "\tfetch = +refs/heads/*:refs/remotes/origin/*",
    "",
  ].join("\n");
}

async function finishCheckout(
  workspace: Workspace,
  request: CheckoutRequest,
  git: GitCommand,
  sha: string,
): Promise<string> {
  if (workspace.tree === undefined) await readTree(workspace, git);
  request.log.write(`Checked out ${sha}\n`);
  return sha;
}

/** Read right after the checkout: later the repository's own code may change .git. */
async function readTree(workspace: Workspace, git: GitCommand): Promise<void> {
  const tree = (await git.output(["rev-parse", "HEAD^{tree}"]))?.trim();
  if (tree && /^[0-9a-f]{40,64}$/.test(tree)) workspace.tree = tree;
}

/** An empty repository whose origin is the source. */
async function initCheckout(git: GitCommand, request: CheckoutRequest): Promise<void> {
  await git(["init", "-q"]);
  await git(["remote", "add", "origin", request.source.url]);
}

async function checkoutRef(workspace: Workspace, request: CheckoutRequest, git: GitCommand): Promise<string> {
  const ref = request.ref ?? "HEAD";
  if (ref.startsWith("-") || /[\s\u0000-\u001f]/.test(ref))
    throw new CheckoutError(`Not a git ref: ${JSON.stringify(ref)}`);
  const fetched = await git(["fetch", "-q", "--no-tags", "--depth=1", "origin", ref], { allowFailure: true });
  if (!fetched) throw new CheckoutError(`Could not fetch ${ref} from ${redactUrl(request.source.url)}`);
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", "FETCH_HEAD"]);
  const sha = (await readHead(workspace)).trim();
  await readTree(workspace, git);
  request.log.write(`Checked out ${ref} at ${sha}\n`);
  return sha;
}

/** CI_MIN_FREE_DISK: a build that would fill the disk fails before it starts, saying so. */
async function ensureFreeDisk(dir: string, minFreeBytes: number): Promise<void> {
  let free: number;
  try {
    const info = await statfs(dir);
    free = info.bavail * info.bsize;
  } catch (error) {
    throw new CheckoutError(`Could not read the free disk of CI_WORK_DIR (${dir}): ${(error as Error).message}`);
  }
  if (free >= minFreeBytes) return;
  throw new CheckoutError(
    `Not enough free disk in CI_WORK_DIR: ${Math.floor(free / MIB)} MiB free, CI_MIN_FREE_DISK is ${Math.ceil(minFreeBytes / MIB)} MiB`,
  );
}

async function readHead(workspace: Workspace): Promise<string> {
  const git = gitCommand({
    cwd: workspace.dir,
    scratchDir: workspace.scratchDir,
    source: { protocol: "local", url: "" },
    log: { write() {} },
    timeoutMs: 30_000,
  });
  return (await git.output(["rev-parse", "HEAD"])) ?? "";
}

function gitRunner(workspace: Workspace, request: CheckoutRequest): GitCommand {
  return gitCommand({
    cwd: workspace.dir,
    scratchDir: workspace.scratchDir,
    source: request.source,
    log: request.log,
    timeoutMs: request.timeoutMs,
    ...(request.signal ? { signal: request.signal } : {}),
  });
}

async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
}

/**
 * Removes checkouts left behind by a crashed or killed server. Returns how
 * many. Only directories pyci made (its own, not links) are removed; call it
 * after the processes of earlier builds are killed (killLeftoverBuildUids),
 * so that none can change a tree while it is removed.
 */
export async function sweepWorkspaces(workRoot: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(workRoot);
  } catch {
    return 0;
  }
  const own = process.getuid?.();
  const leftovers: string[] = [];
  for (const name of entries.filter((entry) => entry.startsWith(PREFIX))) {
    const info = await lstat(join(workRoot, name)).catch(() => undefined);
    if (info?.isDirectory() && (own === undefined || info.uid === own)) leftovers.push(name);
  }
  await Promise.all(leftovers.map((name) => rm(join(workRoot, name), { recursive: true, force: true })));
  return leftovers.length;
}
