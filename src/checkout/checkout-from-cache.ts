import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CheckoutError, GitAbortedError, redactUrl, type GitCommand } from "./git-command.js";
import { rootTreeFromIndex } from "./index-tree.js";
import { leaseMirror, type CacheSettings, type MirrorLease } from "./repo-cache.js";
import type { CheckoutRequest, Workspace } from "./workspace-types.js";

/* A checkout made from the git cache: it borrows the objects of the repository's mirror (repo-cache.ts). */

export type CachedRequest = CheckoutRequest & { sha: string; cache: CacheSettings };

/** True when the checkout is done from the cache; false when the caller should clone without it (the directory is then empty). */
export async function checkoutFromCache(
  workspace: Workspace,
  request: CachedRequest,
  git: GitCommand,
): Promise<boolean> {
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

async function emptyDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
}
