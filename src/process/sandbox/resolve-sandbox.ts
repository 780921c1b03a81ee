import { withDir } from "tmp-promise";
import type { BuildLimits } from "../limits/build-limits.js";
import { BuildUids, type UidRange } from "./build-uids.js";
import { run } from "../exec.js";
import { sandboxCommand } from "./sandbox-command.js";
import { pathKind } from "./sandbox-path-kind.js";
import type { Sandbox } from "./sandbox.js";

/** What the operator asked for (CI_SANDBOX, CI_SANDBOX_UIDS) and what must stay hidden. */
export interface SandboxSettings {
  mode: "auto" | "bwrap" | "user" | "off";
  /** The uids builds run as when pyci runs as root: one per running build. */
  uids: UidRange;
  /** Key files and the data dir: never visible to the code under test. */
  hidden: string[];
  /** What each build may use (CI_BUILD_*); absent: no limits. */
  limits?: BuildLimits;
}

/** The server-wide decision: a sandbox for every build, or why there can be none. */
export type SandboxPolicy =
  | {
      ok: true;
      sandbox: Pick<Sandbox, "kind" | "hidden">;
      /** Where each build's own uid comes from (pyci runs as root); absent: builds run as pyci's user (in bwrap's user namespace, or off). */
      uids?: BuildUids;
      /** What each build may use (CI_BUILD_*); absent: no limits. */
      limits?: BuildLimits;
      description: string;
    }
  | { ok: false; problem: string };

const PROBE_TIMEOUT_MS = 15_000;
const decided = new Map<string, Promise<SandboxPolicy>>();

/**
 * Decides once (per settings) how builds confine the code under test:
 * - bwrap: when `bwrap` runs here; as root, each build also runs under a uid of its own (`setpriv` inside);
 * - user: when pyci runs as root, each build under a uid of its own (CI_SANDBOX_UIDS);
 * - off: pyci's own user, only when the operator says so (CI_SANDBOX=off).
 * "auto" takes the first that works, in that order; when neither works it is
 * a problem, as is an explicit mode that cannot work here: every build's
 * steps then end in `error` with the reason. Repository code never runs
 * unconfined unless CI_SANDBOX=off.
 */
export function resolveSandbox(settings: SandboxSettings): Promise<SandboxPolicy> {
  const key = JSON.stringify(settings);
  let policy = decided.get(key);
  if (!policy) {
    policy = decide(settings).then((decision) =>
      decision.ok && settings.limits ? { ...decision, limits: settings.limits } : decision,
    );
    decided.set(key, policy);
  }
  return policy;
}

async function decide(settings: SandboxSettings): Promise<SandboxPolicy> {
  const root = process.getuid?.() === 0;
  const hidden = settings.hidden;
  if (settings.mode === "off")
    return {
      ok: true,
      sandbox: { kind: "off", hidden },
      description: "off: the code under test runs as pyci's own user, unconfined (CI_SANDBOX=off)",
    };
  const uids = root ? new BuildUids(settings.uids) : undefined;
  const range = `${settings.uids.first}-${settings.uids.first + settings.uids.count - 1}`;
  const notRoot = "pyci does not run as root, so it cannot run builds under uids of their own";

  let bwrapProblem: string | undefined;
  if (settings.mode === "bwrap" || settings.mode === "auto") {
    bwrapProblem = await probe({ kind: "bwrap", hidden }, uids);
    if (!bwrapProblem)
      return {
        ok: true,
        sandbox: { kind: "bwrap", hidden },
        ...(uids ? { uids } : {}),
        description: `bwrap${uids ? `, each build as a uid of its own (${range})` : ""}`,
      };
    if (settings.mode === "bwrap")
      return { ok: false, problem: `CI_SANDBOX=bwrap, but bubblewrap does not work here: ${bwrapProblem}` };
  }

  if (!uids) {
    if (settings.mode === "user") return { ok: false, problem: `CI_SANDBOX=user: ${notRoot}` };
    return {
      ok: false,
      problem: `no sandbox works here: bubblewrap does not (${bwrapProblem}) and ${notRoot}. Install bubblewrap, run pyci as root, or set CI_SANDBOX=off to run the code under test unconfined as pyci's own user`,
    };
  }
  const problem = await probe({ kind: "user", hidden }, uids);
  if (problem)
    return { ok: false, problem: `CI_SANDBOX=${settings.mode}: cannot run steps under CI_SANDBOX_UIDS: ${problem}` };
  return {
    ok: true,
    sandbox: { kind: "user", hidden },
    uids,
    description: `user: each build runs as a uid of its own (${range})`,
  };
}

/** Runs `true` in the sandbox (as one of the build uids); undefined when it worked, else what went wrong. */
async function probe(base: Pick<Sandbox, "kind" | "hidden">, uids: BuildUids | undefined): Promise<string | undefined> {
  // a throwaway working directory (0700, a random name), removed with what is in it once the probe is done
  return withDir(({ path: dir }) => probeIn(dir, base, uids), { prefix: "pyci-sandbox-probe", unsafeCleanup: true });
}

async function probeIn(
  dir: string,
  base: Pick<Sandbox, "kind" | "hidden">,
  uids: BuildUids | undefined,
): Promise<string | undefined> {
  const lease = await uids?.lease();
  try {
    const output: string[] = [];
    const command = sandboxCommand(
      { ...base, ...(lease ? { user: lease.user } : {}), readable: [], writable: [] },
      { cmd: "true", args: [] },
      "/",
      pathKind,
    );
    const r = await run({
      ...command,
      cwd: dir,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      timeoutMs: PROBE_TIMEOUT_MS,
      log: { write: (t) => output.push(t) },
    });
    if (r.spawnError) return `${command.cmd} could not be started (${r.spawnError})`;
    if (r.exitCode !== 0)
      return `${command.cmd} exited with code ${r.exitCode ?? r.signal}: ${output.join("").trim().slice(0, 300)}`;
    return undefined;
  } finally {
    await lease?.release();
  }
}
