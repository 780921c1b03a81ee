import { readdirSync, readFileSync } from "node:fs";
import { run } from "../exec.js";
import type { SandboxUser } from "./sandbox.js";
import type { UidRange } from "./uid-range.js";

export type { UidRange } from "./uid-range.js";

/** A uid that one build holds until `release()`, which kills every process still running as it. */
export interface UidLease {
  uid: number;
  /** The build's user: its uid, and the same number as its gid (no group anyone else is in). */
  user: SandboxUser;
  release(): Promise<void>;
}

const KILL_ROUNDS = 20;
const KILL_TIMEOUT_MS = 10_000;

/**
 * Each running build gets a uid of its own, so that what one build starts
 * can be found and killed when it ends however it hid (setsid, a cleared
 * environment, a double fork), and cannot touch another build's files or
 * processes. uids go round the range (the last one used is not the next
 * one given), and one that still has processes is skipped.
 */
export class BuildUids {
  private readonly held = new Set<number>();
  private next = 0;

  constructor(readonly range: UidRange) {}

  async lease(): Promise<UidLease> {
    const busy = uidsWithProcesses(this.range);
    for (let tried = 0; tried < this.range.count; tried += 1) {
      const uid = this.range.first + ((this.next + tried) % this.range.count);
      if (this.held.has(uid) || busy.has(uid)) continue;
      this.next = (this.next + tried + 1) % this.range.count;
      this.held.add(uid);
      let released = false;
      return {
        uid,
        user: { uid, gid: uid },
        release: async () => {
          if (released) return;
          released = true;
          await killUid(uid);
          this.held.delete(uid);
        },
      };
    }
    throw new Error(
      `All ${this.range.count} uids of CI_SANDBOX_UIDS are in use: widen the range or lower CI_CONCURRENCY`,
    );
  }
}

/**
 * Kills every process running as `uid`, wherever it hides (other sessions,
 * other pid namespaces): `kill(-1, SIGKILL)` sent as that uid reaches all of
 * them at once, and a fork in flight cannot escape it. Repeated until /proc
 * shows none (bounded).
 */
export async function killUid(uid: number): Promise<void> {
  for (let round = 0; round < KILL_ROUNDS; round += 1) {
    if (!uidsWithProcesses({ first: uid, count: 1 }).has(uid)) return;
    const id = String(uid);
    await run({
      cmd: "setpriv",
      args: ["--reuid", id, "--regid", id, "--clear-groups", "--", "kill", "-9", "-1"],
      cwd: "/",
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
      timeoutMs: KILL_TIMEOUT_MS,
      trusted: true,
    });
  }
}

/** At start-up: kills what builds of an earlier pyci process left running (killed with -9, say). Returns the uids that had processes. */
export async function killLeftoverBuildUids(range: UidRange): Promise<number[]> {
  const uids = [...uidsWithProcesses(range)];
  for (const uid of uids) await killUid(uid);
  return uids;
}

/** The uids of `range` that some living process runs as (real, effective, saved or file-system uid). */
export function uidsWithProcesses(range: UidRange): Set<number> {
  const found = new Set<number>();
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return found;
  }
  const last = range.first + range.count - 1;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, "utf8");
    } catch {
      continue; // gone
    }
    // a zombie is dead already (its parent, maybe an init that reaps nothing, has yet to collect it)
    if (/^State:\s+[ZX]/m.test(status)) continue;
    const uids = /^Uid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
    for (const uid of uids) if (uid >= range.first && uid <= last) found.add(uid);
  }
  return found;
}
