import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.js";
import type { LogSink } from "./types.js";

/** Where and how to fetch the code. The token, if any, never reaches argv, a URL or a log. */
export type CloneSource =
  | { protocol: "ssh"; url: string; sshKeyPath: string; knownHostsPath: string }
  | { protocol: "https"; url: string; token?: string }
  | { protocol: "local"; url: string };

export interface CheckoutRequest {
  workRoot: string;
  buildId: string;
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
}

export interface Workspace {
  /** The checkout: the repository at `sha`. */
  dir: string;
  /** Throwaway HOME, TMPDIR and virtualenv of the code under test; outside the checkout. */
  scratchDir: string;
  remove(): Promise<void>;
}

export class CheckoutError extends Error {
  override name = "CheckoutError";
}

const PREFIX = "pyci-build-";

/** Creates the build's directory; call `checkout` next. Always `remove()` it when the build ends. */
export async function createWorkspace(workRoot: string, buildId: string): Promise<Workspace> {
  const root = join(workRoot, `${PREFIX}${buildId}`);
  const dir = join(root, "src");
  const scratchDir = join(root, "scratch");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  return { dir, scratchDir, remove: () => rm(root, { recursive: true, force: true, maxRetries: 3 }) };
}

/**
 * A workspace around a checkout that already exists (GitHub Actions'
 * actions/checkout): only the scratch dir is pyci's, and only it is removed.
 */
export async function existingWorkspace(workRoot: string, buildId: string, dir: string): Promise<Workspace> {
  const root = join(workRoot, `${PREFIX}${buildId}`);
  const scratchDir = join(root, "scratch");
  await mkdir(scratchDir, { recursive: true, mode: 0o700 });
  return { dir, scratchDir, remove: () => rm(root, { recursive: true, force: true, maxRetries: 3 }) };
}

/** Brings an existing checkout to exactly `sha`, fetching it from its origin when it is not there. */
export async function checkoutExisting(workspace: Workspace, request: CheckoutRequest & { sha: string }): Promise<string> {
  if (!/^[0-9a-f]{40}$/.test(request.sha)) throw new CheckoutError(`Not a commit id: ${JSON.stringify(request.sha)}`);
  const head = (await readHead(workspace)).trim();
  if (head === request.sha) {
    request.log.write(`Using the existing checkout of ${workspace.dir} at ${head}\n`);
    return head;
  }
  const git = gitRunner(workspace, request);
  request.log.write(`The existing checkout is at ${head || "no commit"}; fetching ${request.sha}\n`);
  const present = await git(["cat-file", "-e", `${request.sha}^{commit}`], { allowFailure: true });
  if (!present && !(await git(["fetch", "-q", "--no-tags", "--depth=1", "origin", request.sha], { allowFailure: true }))) {
    throw new CheckoutError(`Could not fetch ${request.sha.slice(0, 7)} into the existing checkout`);
  }
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", request.sha]);
  return request.sha;
}

/** Fetches exactly `sha` (or `ref`) into `workspace.dir` and checks it out (detached). Returns the commit. */
export async function checkout(workspace: Workspace, request: CheckoutRequest): Promise<string> {
  const git = gitRunner(workspace, request);
  // 1. an empty repository whose origin is the source
  await git(["init", "-q"]);
  await git(["remote", "add", "origin", request.source.url]);
  if (request.sha === undefined) return checkoutRef(workspace, request, git);
  if (!/^[0-9a-f]{40}$/.test(request.sha)) throw new CheckoutError(`Not a commit id: ${JSON.stringify(request.sha)}`);
  // 2. the commit itself (GitHub serves any reachable commit by id) …
  let fetched = await git(["fetch", "-q", "--no-tags", "--depth=1", "origin", request.sha], { allowFailure: true });
  // 3. … or the pull request's head ref on the base repository (fork PRs, servers that refuse ids)
  if (!fetched && request.prNumber !== undefined) {
    request.log.write(`Fetching refs/pull/${request.prNumber}/head instead\n`);
    fetched = await git(["fetch", "-q", "--no-tags", "origin", `+refs/pull/${request.prNumber}/head:refs/remotes/origin/pr`], { allowFailure: true });
  }
  if (!fetched) throw new CheckoutError(`Could not fetch ${request.sha.slice(0, 7)} from the repository`);
  const present = await git(["cat-file", "-e", `${request.sha}^{commit}`], { allowFailure: true });
  if (!present) throw new CheckoutError(`Commit ${request.sha.slice(0, 7)} is not in the repository (force-pushed away?)`);
  // 4. the working tree at that commit
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", request.sha]);
  request.log.write(`Checked out ${request.sha}\n`);
  return request.sha;
}

async function checkoutRef(workspace: Workspace, request: CheckoutRequest, git: GitCall): Promise<string> {
  const ref = request.ref ?? "HEAD";
  if (ref.startsWith("-") || /[\s\u0000-\u001f]/.test(ref)) throw new CheckoutError(`Not a git ref: ${JSON.stringify(ref)}`);
  const fetched = await git(["fetch", "-q", "--no-tags", "--depth=1", "origin", ref], { allowFailure: true });
  if (!fetched) throw new CheckoutError(`Could not fetch ${ref} from ${redactUrl(request.source.url)}`);
  await git(["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", "FETCH_HEAD"]);
  const sha = (await readHead(workspace)).trim();
  request.log.write(`Checked out ${ref} at ${sha}\n`);
  return sha;
}

async function readHead(workspace: Workspace): Promise<string> {
  const result = await run({ cmd: "git", args: ["rev-parse", "HEAD"], cwd: workspace.dir, env: gitEnv(workspace.scratchDir, { protocol: "local", url: "" }), timeoutMs: 30_000, captureStdout: true });
  return result.stdout;
}

type GitCall = (args: string[], options?: { allowFailure?: boolean }) => Promise<boolean>;

function gitRunner(workspace: Workspace, request: CheckoutRequest): GitCall {
  const env = gitEnv(workspace.scratchDir, request.source);
  return async (args, options = {}) => {
    const shown = args[0] === "remote" ? ["remote", "add", "origin", redactUrl(request.source.url)] : args;
    request.log.write(`$ git ${shown.join(" ")}\n`);
    const result = await run({
      cmd: "git",
      args,
      cwd: workspace.dir,
      env,
      timeoutMs: request.timeoutMs,
      log: request.log,
      ...(request.signal ? { signal: request.signal } : {}),
    });
    if (result.timedOut) throw new CheckoutError(`git ${args[0]} timed out after ${Math.round(request.timeoutMs / 1000)}s`);
    if (result.cancelled) throw new CheckoutError("Cancelled");
    if (result.spawnError) throw new CheckoutError(`git could not be started: ${result.spawnError}`);
    if (result.exitCode === 0) return true;
    if (options.allowFailure) return false;
    throw new CheckoutError(`git ${args[0]} failed with exit code ${result.exitCode}`);
  };
}

/** git's environment: credentials through git's config environment, never argv or the URL. */
export function gitEnv(scratchDir: string, source: CloneSource): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(scratchDir, "git-home"),
    LANG: "C.UTF-8",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_CONFIG_GLOBAL: "/dev/null",
  };
  if (source.protocol === "ssh") {
    env.GIT_SSH_COMMAND = [
      "ssh",
      "-F", "/dev/null",
      "-i", shellQuote(source.sshKeyPath),
      "-o", "IdentitiesOnly=yes",
      "-o", "BatchMode=yes",
      "-o", "StrictHostKeyChecking=yes",
      "-o", `UserKnownHostsFile=${shellQuote(source.knownHostsPath)}`,
    ].join(" ");
  }
  if (source.protocol === "https" && source.token) {
    const basic = Buffer.from(`x-access-token:${source.token}`).toString("base64");
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = `Authorization: Basic ${basic}`;
  }
  return env;
}

/** Removes checkouts left behind by a crashed or killed server. Returns how many. */
export async function sweepWorkspaces(workRoot: string): Promise<number> {
  let entries: string[];
  try {
    entries = await readdir(workRoot);
  } catch {
    return 0;
  }
  const leftovers = entries.filter((name) => name.startsWith(PREFIX));
  await Promise.all(leftovers.map((name) => rm(join(workRoot, name), { recursive: true, force: true })));
  return leftovers.length;
}

/** Drops any user:password@ from a URL before it is shown. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*:[^@/]*@/i, "$1***@");
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
