import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { buildCgroupLayout } from "../../../src/process/limits/build-cgroup.js";
import { cgroupLayout } from "../../../src/process/limits/cgroup-layout.js";
import { killCgroup, type CgroupDirs } from "../../../src/process/limits/kill-cgroup.js";

/**
 * This process's cgroup in the unified (v2) hierarchy, asked as if it offered memory and pids:
 * the core of v2 (cgroup.procs, cgroup.kill) works without any controller, so the kill that
 * build cgroups use on v2 hosts can be tried even on a hybrid host like this one.
 */
function unifiedDir(): string | undefined {
  const layout = cgroupLayout(
    readFileSync("/proc/self/cgroup", "utf8"),
    readFileSync("/proc/self/mountinfo", "utf8"),
    () => "memory pids",
  );
  return layout.kind === "v2" ? layout.dir : undefined;
}

const unified = unifiedDir();
const v2Skip = !unified
  ? "no cgroup v2 here"
  : !existsSync(`${unified}/cgroup.procs`) || process.getuid?.() !== 0
    ? "not root"
    : undefined;
const layout = await buildCgroupLayout();
// not pyci-build-…: removeLeftoverCgroups, tested meanwhile in another worker, would take it for a leftover
const name = () => `pyci-test-kill-${randomBytes(4).toString("hex")}`;
const procs = (dir: string) => readFileSync(`${dir}/cgroup.procs`, "utf8").split("\n").filter(Boolean);

let made: CgroupDirs[] = [];
afterEach(async () => {
  for (const cgroup of made) {
    const dirs = cgroup.version === 2 ? [cgroup.dir] : cgroup.dirs;
    await killCgroup(cgroup);
    dirs.filter(existsSync).forEach((dir) => rmdirSync(dir));
  }
  made = [];
});

/** Starts `script` (python) inside the cgroups whose directories are given, with a hard timeout. */
function startIn(dirs: string[], script: string) {
  const child = spawn(
    "sh",
    [
      "-c",
      'for f; do [ "$f" = -- ] && break; echo $$ > "$f/cgroup.procs"; shift; done; shift; exec "$@"',
      "sh",
      ...dirs,
      "--",
      "python3",
      "-c",
      script,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      timeout: 30_000,
      killSignal: "SIGKILL",
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  return {
    output: () => output,
    exited: new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_, signal) => resolve(signal))),
  };
}

async function until(what: string, condition: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** 30 processes at most: nested forks, and daemons that left the session; then all sleep. */
const TREE = `
import os, time
for depth in range(3):
    for i in range(3):
        if os.fork() == 0:
            if i == 0:
                os.setsid()
            break
    else:
        break
print("started", flush=True)
time.sleep(60)
`;

describe("killCgroup", () => {
  it.skipIf(v2Skip !== undefined)(
    `kills a process tree at once on cgroup v2, with cgroup.kill (${v2Skip ?? unified})`,
    { timeout: 30_000 },
    async () => {
      const dir = `${unified}/${name()}`;
      mkdirSync(dir);
      const cgroup: CgroupDirs = { version: 2, dir };
      made.push(cgroup);
      if (!existsSync(`${dir}/cgroup.kill`)) return void console.warn("skipped: no cgroup.kill before Linux 5.14");
      const tree = startIn([dir], TREE);
      await until("the tree has started", () => procs(dir).length >= 10);
      const running = procs(dir);

      await killCgroup(cgroup);
      expect(procs(dir)).toEqual([]);
      expect(
        running.filter(
          (pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8")),
        ),
      ).toEqual([]);
      expect(await tree.exited).toBe("SIGKILL");
    },
  );

  it.skipIf(layout.kind !== "v1")(
    "kills a fork bomb that refills its pids.max on cgroup v1 without a freezer, by killing until none is left",
    { timeout: 30_000 },
    async () => {
      if (layout.kind !== "v1") return;
      const dir = `${layout.pids}/${name()}`;
      mkdirSync(dir);
      const cgroup: CgroupDirs = { version: 1, dirs: [dir] };
      made.push(cgroup);
      writeFileSync(`${dir}/pids.max`, "32");
      expect(readFileSync(`${dir}/pids.max`, "utf8").trim()).toBe("32");
      // every process forks again whenever it can: what is killed is replaced at once
      const bomb = startIn(
        [dir],
        "import os, time\nprint('started', flush=True)\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.01)\n",
      );
      await until("the bomb fills its limit", () => procs(dir).length >= 30);

      const started = Date.now();
      await killCgroup(cgroup);
      expect(procs(dir)).toEqual([]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(await bomb.exited).toBe("SIGKILL");
    },
  );
});
