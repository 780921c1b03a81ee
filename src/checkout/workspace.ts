import { lstat, mkdir, mkdtemp, readdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { CheckoutError, gitCommand, redactUrl, type GitCommand } from "./git-command.js";
import { lastLines } from "../text/last-lines.js";
import { checkoutFromCache } from "./checkout-from-cache.js";
import { fetchFailure } from "./fetch-failure.js";
import { ownerEnded, writeOwner } from "./workspace-owner.js";
import type { CheckoutRequest, Workspace } from "./workspace-types.js";

export { CheckoutError, gitEnv, redactUrl, type CloneSource } from "./git-command.js";
export { ownerEnded } from "./workspace-owner.js";
export type { CacheSettings } from "./repo-cache.js";
export type { CheckoutRequest, Workspace } from "./workspace-types.js";

const PREFIX = "pyci-build-";
const MIB = 1024 * 1024;
/** An abbreviated commit id, as `git log --oneline` shows them. */
const SHORT_SHA = /^[0-9a-f]{4,39}$/i;

/**
 * Creates the build's directory; call `checkout` next. Always `remove()` it
 * when the build ends. The directory is new (mkdtemp: made atomically, with
 * a random name that says nothing of the build, 0700, pyci's own), so that
 * nothing else — code a build left running, another user of a shared /tmp —
 * can have made it, or can know or replace its `src/` and `scratch/`. It
 * names this process as its owner (workspace-owner.ts): sweepWorkspaces
 * leaves it alone while this process lives.
 */
export async function createWorkspace(workRoot: string): Promise<Workspace> {
  await mkdir(workRoot, { recursive: true });
  const root = await mkdtemp(join(workRoot, PREFIX));
  await writeOwner(root);
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
  await writeOwner(root);
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

/**
 * `--ref` (or HEAD): fetched by name at depth 1; a commit given by a short
 * id, which a fetch cannot name, is looked for in every branch and tag. A
 * fetch that fails says why in one line (fetch-failure.ts), from git's own.
 */
async function checkoutRef(workspace: Workspace, request: CheckoutRequest, git: GitCommand): Promise<string> {
  const ref = request.ref ?? "HEAD";
  if (ref.startsWith("-") || /[\s\u0000-\u001f]/.test(ref))
    throw new CheckoutError(`Not a git ref: ${JSON.stringify(ref)}`);
  const log = lastLines(request.log, 20);
  const fetching = gitRunner(workspace, { ...request, log });
  let target = "FETCH_HEAD";
  if (!(await fetching(["fetch", "-q", "--no-tags", "--depth=1", "origin", ref], { allowFailure: true }))) {
    const refNotFound = /couldn't find remote ref/.test(log.lines().join("\n"));
    if (!refNotFound || !SHORT_SHA.test(ref))
      throw new CheckoutError(fetchFailure(log.lines(), request.source.url, ref));
    request.log.write(`${ref} may be a commit's short id: fetching every branch and tag to find it\n`);
    const all = ["fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"];
    if (!(await fetching(all, { allowFailure: true })))
      throw new CheckoutError(fetchFailure(log.lines(), request.source.url, ref));
    const found = (await git.output(["rev-parse", "--verify", "-q", `${ref}^{commit}`]))?.trim();
    if (!found)
      throw new CheckoutError(`${redactUrl(request.source.url)} has no branch, tag or commit ${JSON.stringify(ref)}`);
    target = found;
  }
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target]);
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

/**
 * Removes the workspaces in `workRoot` whose pyci process has ended (a
 * crashed or killed server, an interrupted `pyci run`). Returns how many.
 * A workspace of a live process — another server's build, a `pyci run`
 * beside this server in the same CI_WORK_DIR — is left alone, as is
 * anything pyci did not make (other names, links, other users' files).
 * The server calls it after the processes of earlier builds are killed
 * (killLeftoverBuildUids), so that none can change a tree while it is
 * removed; `pyci run` before making its own. One that cannot be removed
 * (files of another uid) is left and not counted.
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
    const root = join(workRoot, name);
    const info = await lstat(root).catch(() => undefined);
    if (!info?.isDirectory() || (own !== undefined && info.uid !== own)) continue;
    if (ownerEnded(root)) leftovers.push(root);
  }
  const removed = await Promise.all(
    leftovers.map((root) =>
      rm(root, { recursive: true, force: true, maxRetries: 3 }).then(
        () => true,
        () => false,
      ),
    ),
  );
  return removed.filter(Boolean).length;
}
