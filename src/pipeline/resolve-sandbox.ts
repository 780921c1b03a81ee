import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./exec.js";
import { sandboxCommand } from "./sandbox-command.js";
import { pathKind } from "./sandbox-path-kind.js";
import type { Sandbox } from "./types.js";

/** What the operator asked for (CI_SANDBOX, CI_SANDBOX_USER) and what must stay hidden. */
export interface SandboxSettings {
  mode: "auto" | "bwrap" | "user" | "off";
  user: string;
  /** Key files and the data dir: never visible to the code under test. */
  hidden: string[];
}

/** The server-wide decision: a sandbox for every build, or why there can be none. */
export type SandboxPolicy =
  | { ok: true; sandbox: Omit<Sandbox, "readable" | "writable">; description: string; warning?: string }
  | { ok: false; problem: string };

const PROBE_TIMEOUT_MS = 15_000;
const decided = new Map<string, Promise<SandboxPolicy>>();

/**
 * Decides once (per settings) how builds confine the code under test:
 * - bwrap: when `bwrap` runs here (as root, with `setpriv` to drop to the user);
 * - user: when pyci runs as root, as CI_SANDBOX_USER;
 * - off: pyci's own user.
 * "auto" takes the first that works, in that order, and says so with a
 * warning when it ends at "off"; an explicit mode that cannot work here is a
 * problem that fails every build's steps with `error` and the reason.
 */
export function resolveSandbox(settings: SandboxSettings): Promise<SandboxPolicy> {
  const key = JSON.stringify(settings);
  let policy = decided.get(key);
  if (!policy) {
    policy = decide(settings);
    decided.set(key, policy);
  }
  return policy;
}

async function decide(settings: SandboxSettings): Promise<SandboxPolicy> {
  const root = process.getuid?.() === 0;
  const hidden = settings.hidden;
  if (settings.mode === "off") return { ok: true, sandbox: { kind: "off", hidden }, description: "off: the code under test runs as pyci's own user" };

  let user: { name: string; uid: number; gid: number } | undefined;
  let userProblem: string | undefined;
  if (root) {
    const found = await lookUpUser(settings.user);
    if (typeof found === "string") userProblem = found;
    else user = found;
  } else {
    userProblem = `pyci does not run as root, so it cannot run steps as CI_SANDBOX_USER=${settings.user}`;
  }

  if (settings.mode === "bwrap" || settings.mode === "auto") {
    if (root && !user) {
      if (settings.mode === "bwrap") return { ok: false, problem: `CI_SANDBOX=bwrap: ${userProblem}` };
    } else {
      const sandbox = { kind: "bwrap" as const, hidden, ...(user ? { user } : {}) };
      const problem = await probe({ ...sandbox, readable: [], writable: [] });
      if (!problem) return { ok: true, sandbox, description: `bwrap${user ? `, as ${user.name}` : ""}` };
      if (settings.mode === "bwrap") return { ok: false, problem: `CI_SANDBOX=bwrap, but bubblewrap does not work here: ${problem}` };
    }
  }

  if (!user) {
    if (settings.mode === "user") return { ok: false, problem: `CI_SANDBOX=user: ${userProblem}` };
    return {
      ok: true,
      sandbox: { kind: "off", hidden },
      description: "off: the code under test runs as pyci's own user",
      warning: `no sandbox: bubblewrap does not work here and ${userProblem}; the code under test can read every file pyci can (install bubblewrap, or run pyci as root with CI_SANDBOX_USER)`,
    };
  }
  const sandbox = { kind: "user" as const, hidden, user };
  const problem = await probe({ ...sandbox, readable: [], writable: [] });
  if (problem) return { ok: false, problem: `CI_SANDBOX=${settings.mode}: cannot run steps as ${user.name}: ${problem}` };
  return { ok: true, sandbox, description: `user: the code under test runs as ${user.name} (uid ${user.uid})` };
}

/** Runs `true` in the sandbox; undefined when it worked, else what went wrong. */
async function probe(sandbox: Sandbox): Promise<string | undefined> {
  const dir = await mkdtemp(join(tmpdir(), "pyci-sandbox-probe-"));
  try {
    const output: string[] = [];
    const command = sandboxCommand(sandbox, { cmd: "true", args: [] }, "/", pathKind);
    const r = await run({ ...command, cwd: dir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeoutMs: PROBE_TIMEOUT_MS, log: { write: (t) => output.push(t) } });
    if (r.spawnError) return `${command.cmd} could not be started (${r.spawnError})`;
    if (r.exitCode !== 0) return `${command.cmd} exited with code ${r.exitCode ?? r.signal}: ${output.join("").trim().slice(0, 300)}`;
    return undefined;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The account's uid and gid (getent: whatever NSS knows), or why not. */
async function lookUpUser(name: string): Promise<{ name: string; uid: number; gid: number } | string> {
  if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(name)) return `CI_SANDBOX_USER=${name} is not a user name`;
  const r = await run({ cmd: "getent", args: ["passwd", name], cwd: "/", env: { PATH: process.env.PATH ?? "/usr/bin:/bin" }, timeoutMs: PROBE_TIMEOUT_MS, captureStdout: true });
  const fields = r.stdout.trim().split(":");
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (r.exitCode !== 0 || !Number.isInteger(uid) || !Number.isInteger(gid)) return `CI_SANDBOX_USER=${name} is not a user on this machine (getent passwd ${name})`;
  if (uid === 0) return `CI_SANDBOX_USER=${name} is root; name an unprivileged account`;
  return { name, uid, gid };
}
