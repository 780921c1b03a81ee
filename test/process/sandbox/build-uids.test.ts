import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BuildUids, killLeftoverBuildUids, uidsWithProcesses } from "../../../src/process/sandbox/build-uids.js";
import { parseUidRange } from "../../../src/process/sandbox/uid-range.js";

const ROOT = process.getuid?.() === 0;

/**
 * What a hostile build leaves behind: a daemon, as `uid`, that double-forks,
 * setsid()s and execs with an empty environment (no marker, no process group
 * of its step). Resolves once it runs.
 */
async function daemonAs(uid: number): Promise<void> {
  const script =
    "import os\nif os.fork(): os._exit(0)\nos.setsid()\nif os.fork(): os._exit(0)\nos.execve('/bin/sleep', ['sleep', '120'], {})\n";
  const id = String(uid);
  const child = spawn(
    "setpriv",
    ["--reuid", id, "--regid", id, "--clear-groups", "--", "/usr/bin/python3", "-c", script],
    { stdio: "ignore", env: {} },
  );
  await new Promise((resolve) => child.on("exit", resolve));
  // the daemon itself, not a parent of it on its way out: a sleep running as `uid`
  for (let i = 0; i < 100; i++) {
    if (sleepingAs(uid)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the daemon as uid ${uid} did not start`);
}

function sleepingAs(uid: number): boolean {
  return readdirSync("/proc").some((entry) => {
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      return (
        /^Name:\s+sleep$/m.test(status) &&
        /^State:\s+[^ZX]/m.test(status) &&
        new RegExp(`^Uid:\\s+${uid}\\s`, "m").test(status)
      );
    } catch {
      return false;
    }
  });
}

describe("build uids", () => {
  it("parses CI_SANDBOX_UIDS ranges, refusing root's and system accounts' uids", () => {
    expect(parseUidRange("900000-965535")).toEqual({ first: 900_000, count: 65_536 });
    expect(parseUidRange("0-100")).toBeUndefined();
    expect(parseUidRange("500-2000")).toBeUndefined();
    expect(parseUidRange("2000-1000")).toBeUndefined();
    expect(parseUidRange("nobody")).toBeUndefined();
  });

  it("gives each running build a uid of its own, round the range", async () => {
    const uids = new BuildUids({ first: 930_000, count: 3 });
    const [a, b, c] = [await uids.lease(), await uids.lease(), await uids.lease()];
    expect(new Set([a.uid, b.uid, c.uid]).size).toBe(3);
    await expect(uids.lease()).rejects.toThrow(/All 3 uids of CI_SANDBOX_UIDS are in use/);
    await b.release();
    expect((await uids.lease()).uid).toBe(b.uid);
  });

  it.skipIf(!ROOT)("kills what the build left running, however it hid, when the build lets its uid go", async () => {
    const uids = new BuildUids({ first: 931_000, count: 10 });
    const lease = await uids.lease();
    await daemonAs(lease.uid);
    expect(uidsWithProcesses(uids.range).has(lease.uid)).toBe(true);
    await lease.release();
    expect(uidsWithProcesses(uids.range).has(lease.uid)).toBe(false);
  });

  it.skipIf(!ROOT)(
    "skips a uid that still has processes, and kills those an earlier server left at start-up",
    async () => {
      const range = { first: 932_000, count: 2 };
      await daemonAs(range.first);
      const uids = new BuildUids(range);
      const lease = await uids.lease();
      expect(lease.uid).toBe(range.first + 1);
      await lease.release();
      expect(await killLeftoverBuildUids(range)).toEqual([range.first]);
      expect(uidsWithProcesses(range).size).toBe(0);
    },
  );
});
