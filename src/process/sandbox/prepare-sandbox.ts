import { chmod, readFile, realpath, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { boundBuild, type BuildBounds } from "../limits/bound-build.js";
import type { LimitKind } from "../limits/build-limits.js";
import { killUid } from "./build-uids.js";
import { chownTree } from "./chown-tree.js";
import { run } from "../exec.js";
import { insideBuild } from "./inside-build.js";
import type { SandboxPolicy } from "./resolve-sandbox.js";
import { sandboxEnv } from "./sandbox-env.js";
import type { Sandbox, SandboxUser } from "./sandbox.js";
import { packageFile } from "../../package-files.js";

/** pyci's Python helpers (the unittest runner, the syntax check). */
const PYCI_PYTHON_DIR = packageFile("python");
const PYRIGHT_DIR = dirname(createRequire(import.meta.url).resolve("pyright/package.json"));

/** Starts, reads the checkout, writes TMPDIR: what every step of the code under test does. */
const PROBE =
  "import os, sys; os.listdir('.'); open(os.path.join(os.environ['TMPDIR'], '.pyci-probe'), 'w').close(); print(sys.prefix)";

export interface SandboxBuild {
  dir: string;
  scratchDir: string;
  /** The interpreter the pipeline starts with: CI_PYTHON or the repository's `python:`, trusted (the server's). */
  python: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export type PreparedSandbox =
  | {
      ok: true;
      sandbox: Sandbox;
      python: string;
      /** The first of the build's limits it hit so far, if any (see boundBuild). */
      limitHit(): Promise<LimitKind | undefined>;
      /**
       * Ends the build's hold on the sandbox: removes its cgroup and kills every process still
       * running as its uid. Call it when the build's steps are done.
       */
      release(): Promise<void>;
    }
  | { ok: false; problem: string };

/**
 * Fits the server's sandbox to one build, before any step runs:
 * 1. the build's own uid (as root: leased from CI_SANDBOX_UIDS, one per
 *    running build);
 * 2. its limits (CI_BUILD_*: a cgroup or rlimits, a disk watchdog; see
 *    boundBuild);
 * 3. the interpreter, asked (outside the sandbox, away from the checkout, so
 *    that the repository cannot steer a pyenv shim) for its path and
 *    prefixes, which bwrap shows read-only: steps then run it by that path;
 * 4. the checkout and the scratch dir (with HOME and TMPDIR) are given to
 *    the build's uid, and its way to them is opened;
 * 5. the interpreter must start in the sandbox: if the build's uid cannot
 *    run it (a pyenv under /root), every step errors, saying so.
 * `release()` undoes 1 and 2, killing whatever the build left running.
 */
export async function prepareSandbox(policy: SandboxPolicy, build: SandboxBuild): Promise<PreparedSandbox> {
  if (!policy.ok) return { ok: false, problem: `The sandbox cannot run: ${policy.problem}` };
  const writable = [build.dir, build.scratchDir];
  // 1. the uid
  const lease = policy.sandbox.kind === "off" ? undefined : await policy.uids?.lease();
  let bounds: BuildBounds | undefined;
  const release = async () => {
    await bounds?.release();
    await lease?.release();
  };
  try {
    // 2. the limits
    if (policy.limits) {
      const stopAll = async () => (lease ? killUid(lease.uid) : undefined);
      const bounded = await boundBuild(policy.limits, writable, stopAll).catch((error: unknown) => error as Error);
      if (bounded instanceof Error) {
        await release();
        return { ok: false, problem: `The build's limits (CI_BUILD_*) could not be set up: ${bounded.message}` };
      }
      bounds = bounded;
    }
    // 3–5. the interpreter and the directories
    const prepared =
      policy.sandbox.kind === "off"
        ? { ok: true as const, sandbox: { ...policy.sandbox, readable: [], writable }, python: build.python }
        : await prepareWith(policy.sandbox, lease?.user, build);
    if (!prepared.ok) {
      await release();
      return prepared;
    }
    const limits = bounds ? { limits: bounds.limits } : {};
    const limitHit = bounds ? () => bounds!.hit() : async () => undefined;
    return { ...prepared, sandbox: { ...prepared.sandbox, ...limits }, limitHit, release };
  } catch (error) {
    await release();
    throw error;
  }
}

async function prepareWith(
  base: Pick<Sandbox, "kind" | "hidden">,
  user: SandboxUser | undefined,
  build: SandboxBuild,
): Promise<{ ok: true; sandbox: Sandbox; python: string } | { ok: false; problem: string }> {
  const writable = [build.dir, build.scratchDir];
  const common = { timeoutMs: build.timeoutMs, ...(build.signal ? { signal: build.signal } : {}) };

  // 3. the interpreter's real path and prefix
  const asked = await askInterpreter(build, common);
  if (!asked.ok) return asked;
  const { python, prefix, basePrefix } = asked;
  // a venv (its prefix) over its base interpreter (the base prefix, and where the executable really is)
  // and, in bwrap, the object stores a cached checkout borrows from (git in the checkout needs them; they are in hidden CI_DATA_DIR)
  const borrowed = base.kind === "bwrap" ? await alternates(build.dir) : [];
  const readable = unique([
    prefix,
    basePrefix,
    dirname(python),
    dirname(await realpath(python)),
    PYCI_PYTHON_DIR,
    PYRIGHT_DIR,
    dirname(dirname(process.execPath)),
    ...borrowed,
  ]);
  const sandbox: Sandbox = { ...base, ...(user ? { user } : {}), readable, writable };

  // 4. the build's directories (HOME and TMPDIR made by the pipeline), its uid's
  if (sandbox.user) {
    for (const dir of writable) {
      await chownTree(dir, sandbox.user.uid, sandbox.user.gid);
      await openWayTo(dir);
    }
  }
  if (sandbox.kind === "user") {
    const closed = await closedAncestor(writable);
    if (closed) {
      return {
        ok: false,
        problem: `The build's uid cannot reach the checkout: ${closed} is not searchable by other users. Run chmod o+x ${closed}, or set CI_WORK_DIR to a directory they can search (such as /tmp)`,
      };
    }
  }

  // 5. the interpreter starts in the sandbox
  // (the same interpreter: one that cannot read its venv's pyvenv.cfg starts as its base, without the venv's packages)
  const probeKey = [sandbox.kind, sandbox.user ? "uid" : "", python].join("\0");
  if (startsInSandbox.has(probeKey)) return { ok: true, sandbox, python };
  const output: string[] = [];
  const tried = await run({
    ...common,
    cmd: python,
    args: ["-I", "-c", PROBE],
    cwd: build.dir,
    env: sandboxEnv(build.scratchDir),
    sandbox,
    captureStdout: true,
    log: { write: (t) => output.push(t) },
  });
  if (tried.exitCode !== 0 || tried.stdout.trim() !== prefix) {
    const detail =
      tried.spawnError ??
      (tried.exitCode === 0
        ? `it started with sys.prefix ${tried.stdout.trim()} instead of ${prefix}`
        : `exit code ${tried.exitCode ?? tried.signal}: ${output.join("").trim().slice(-200)}`);
    const who = sandbox.user ? ` as the build's uid` : "";
    return {
      ok: false,
      problem: `The interpreter ${python} cannot run in the ${sandbox.kind} sandbox${who}, or cannot read the checkout and write the scratch dir there (${detail}). It and its directories must be readable and executable by every user: install Python outside /root, or use CI_SANDBOX=bwrap`,
    };
  }
  startsInSandbox.add(probeKey);
  return { ok: true, sandbox, python };
}

interface Interpreter {
  ok: true;
  python: string;
  prefix: string;
  basePrefix: string;
}

/**
 * What each interpreter command (CI_PYTHON, a repository's `python:`) said it
 * is, asked once per server while its executable is still there: a pyenv
 * shim takes most of a second of bash to answer, every build.
 */
const interpreters = new Map<string, Interpreter>();
/** The sandboxes (kind, user, interpreter) in which the interpreter was seen to start: probed once per server. */
const startsInSandbox = new Set<string>();

async function askInterpreter(
  build: SandboxBuild,
  common: { timeoutMs: number; signal?: AbortSignal },
): Promise<Interpreter | { ok: false; problem: string }> {
  const known = interpreters.get(build.python);
  if (
    known &&
    (await stat(known.python).then(
      (s) => s.isFile(),
      () => false,
    ))
  )
    return known;
  const asked = await run({
    ...common,
    cmd: build.python,
    args: ["-I", "-c", "import sys; print(sys.executable); print(sys.prefix); print(sys.base_prefix)"],
    cwd: build.scratchDir,
    env: sandboxEnv(build.scratchDir),
    captureStdout: true,
  });
  const [python = "", prefix = "", basePrefix = ""] = asked.stdout.trim().split("\n");
  if (asked.exitCode !== 0 || ![python, prefix, basePrefix].every((path) => path.startsWith("/"))) {
    return {
      ok: false,
      problem: `Could not ask the interpreter ${build.python} for its path (${asked.spawnError ?? `exit code ${asked.exitCode ?? asked.signal}`})`,
    };
  }
  const interpreter: Interpreter = { ok: true, python, prefix, basePrefix };
  // a command that names the same interpreter in every build: on PATH, or an absolute path outside the build
  const stable = !build.python.includes("/") || (isAbsolute(build.python) && !insideBuild(build.python, build));
  if (stable) interpreters.set(build.python, interpreter);
  return interpreter;
}

/**
 * The object directories a checkout borrows (`.git/objects/info/alternates`,
 * written by a clone with --reference or --shared from the repository
 * cache): only those, read-only, never the rest of CI_DATA_DIR. In the user
 * sandbox they stay out of reach (CI_DATA_DIR is not the sandbox user's),
 * so git commands of the code under test see a checkout without history.
 */
async function alternates(dir: string): Promise<string[]> {
  const objects = join(dir, ".git", "objects");
  let text: string;
  try {
    text = await readFile(join(objects, "info", "alternates"), "utf8");
  } catch {
    return [];
  }
  const paths = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => resolve(objects, line));
  const existing = await Promise.all(
    paths.map((path) =>
      stat(path).then(
        (s) => (s.isDirectory() ? path : undefined),
        () => undefined,
      ),
    ),
  );
  return existing.filter((path): path is string => path !== undefined);
}

/** The build's own directory (pyci-build-<id>, 0700) lets others through to `dir`, without listing it. */
async function openWayTo(dir: string): Promise<void> {
  const parent = dirname(dir);
  const mode = (await stat(parent)).mode & 0o7777;
  if ((mode & 0o001) === 0) await chmod(parent, mode | 0o001);
}

/** The first directory above `dirs` (their parents excluded, opened already) that others cannot search. */
async function closedAncestor(dirs: string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    for (let up = dirname(dirname(dir)); up !== "/"; up = dirname(up)) {
      if (((await stat(up)).mode & 0o001) === 0) return up;
    }
  }
  return undefined;
}

function unique(paths: string[]): string[] {
  return [...new Set(paths)].filter(
    (path, _, all) => !all.some((other) => other !== path && path.startsWith(`${other}/`)),
  );
}
