import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildCgroupLayout,
  createBuildCgroup,
  removeLeftoverCgroups,
  type BuildCgroup,
} from "../../../src/process/limits/build-cgroup.js";

const MIB = 1024 * 1024;
const layout = await buildCgroupLayout();
const skipped = layout.kind === "none" ? `skipped: ${layout.reason}` : layout.kind;
const unique = () => `test-${randomBytes(4).toString("hex")}`;

/** A started command: its output so far, and its exit (not waiting for what it left running). */
function start(line: { cmd: string; args: string[] }, hardTimeoutMs: number) {
  const child = spawn(line.cmd, line.args, {
    stdio: ["ignore", "pipe", "pipe"],
    timeout: hardTimeoutMs,
    killSignal: "SIGKILL",
  });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return { output: () => output, exited };
}

async function until(what: string, condition: () => boolean, ms = 20_000, detail = () => ""): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const read = (path: string) => readFileSync(path, "utf8").trim();
/** The processes in any of its hierarchies, each once. */
const procs = (cgroup: BuildCgroup) => [
  ...new Set(
    cgroup.dirs.flatMap((dir) => (existsSync(dir) ? read(`${dir}/cgroup.procs`).split("\n").filter(Boolean) : [])),
  ),
];

/** The limits as the kernel holds them, whichever the version. */
function limitsOf(cgroup: BuildCgroup): { memory: number; swapped: number | undefined; processes: number } {
  const [first, second] = cgroup.dirs as [string, string | undefined];
  if (layout.kind === "v2") {
    const swap = `${first}/memory.swap.max`;
    return {
      memory: Number(read(`${first}/memory.max`)),
      swapped: existsSync(swap) ? Number(read(swap)) : undefined,
      processes: Number(read(`${first}/pids.max`)),
    };
  }
  const memsw = `${first}/memory.memsw.limit_in_bytes`;
  return {
    memory: Number(read(`${first}/memory.limit_in_bytes`)),
    swapped: existsSync(memsw) ? Number(read(memsw)) : undefined,
    processes: Number(read(`${second}/pids.max`)),
  };
}

let cgroups: BuildCgroup[] = [];
async function create(limits: { memoryBytes: number; processes: number }): Promise<BuildCgroup> {
  const cgroup = await createBuildCgroup(unique(), limits);
  if (!cgroup) throw new Error("no cgroup, though the layout is not none");
  cgroups.push(cgroup);
  return cgroup;
}
// whatever a test started, a hog or a bomb, dies with its cgroup
afterEach(async () => {
  await Promise.all(cgroups.map((cgroup) => cgroup.remove()));
  cgroups = [];
});

describe("createBuildCgroup", () => {
  it("refuses a name that is not a plain word", async () => {
    await expect(createBuildCgroup("../escape", { memoryBytes: 64 * MIB, processes: 32 })).rejects.toThrow(
      /letters, digits/,
    );
  });
});

describe.skipIf(layout.kind === "none")(`build cgroups, real (${skipped})`, () => {
  it("sets the memory and process limits, swap included, and removes every directory", {
    timeout: 20_000,
  }, async () => {
    const cgroup = await create({ memoryBytes: 64 * MIB, processes: 32 });
    expect(cgroup.dirs.length).toBe(layout.kind === "v1" ? (layout.freezer ? 3 : 2) : 1);
    const set = limitsOf(cgroup);
    expect(set.memory).toBe(64 * MIB);
    expect(set.swapped).toBe(layout.kind === "v2" ? 0 : set.swapped === undefined ? undefined : 64 * MIB);
    expect(set.processes).toBe(32);
    await cgroup.remove();
    expect(cgroup.dirs.filter(existsSync)).toEqual([]);
  });

  it("runs the wrapped command inside it, its arguments as they are", { timeout: 20_000 }, async () => {
    const cgroup = await create({ memoryBytes: 256 * MIB, processes: 32 });
    const args = ["a b", "$(touch /tmp/pyci-injected)", '"; exit 3; "', "--", "-c"];
    const line = cgroup.wrap({ cmd: "sh", args: ["-c", 'printf "%s\\n" "$@"; cat /proc/self/cgroup', "sh", ...args] });
    expect(line.cmd).toBe("/bin/sh");
    const run = start(line, 10_000);
    expect(await run.exited).toEqual({ code: 0, signal: null });
    const [printed, membership] = [run.output().split("\n").slice(0, args.length), run.output()];
    expect(printed).toEqual(args);
    const leaf = cgroup.dirs[0]!.split("/").pop()!;
    expect(membership.split("\n").filter((l) => l.endsWith(`/${leaf}`)).length).toBe(cgroup.dirs.length);
    expect(existsSync("/tmp/pyci-injected")).toBe(false);
  });

  it.skipIf(process.getuid?.() !== 0)(
    "joins as root before the uid switch, and the build's uid cannot leave it",
    { timeout: 20_000 },
    async () => {
      const cgroup = await create({ memoryBytes: 256 * MIB, processes: 32 });
      const parents = cgroup.dirs.map((dir) => dir.slice(0, dir.lastIndexOf("/")));
      const leave = 'for p; do echo $$ > "$p/cgroup.procs" && echo "left for $p"; done; cat /proc/self/cgroup';
      const asBuildUser = [
        "--reuid",
        "60124",
        "--regid",
        "60124",
        "--clear-groups",
        "--",
        "sh",
        "-c",
        leave,
        "sh",
        ...parents,
      ];
      const run = start(cgroup.wrap({ cmd: "setpriv", args: asBuildUser }), 10_000);
      expect((await run.exited).code).toBe(0);
      expect(run.output()).not.toContain("left for");
      const leaf = cgroup.dirs[0]!.split("/").pop()!;
      expect(
        run
          .output()
          .split("\n")
          .filter((l) => l.endsWith(`/${leaf}`)).length,
      ).toBe(cgroup.dirs.length);
    },
  );

  it("exits 125, saying so, when it cannot join the cgroup", { timeout: 20_000 }, async () => {
    const cgroup = await create({ memoryBytes: 64 * MIB, processes: 32 });
    await cgroup.remove();
    const run = start(cgroup.wrap({ cmd: "true", args: [] }), 10_000);
    expect((await run.exited).code).toBe(125);
    expect(run.output()).toMatch(/pyci: cannot join the build's cgroup/);
  });

  it("has the kernel's OOM killer stop a memory hog at the memory limit, and says so", {
    timeout: 40_000,
  }, async () => {
    const cgroup = await create({ memoryBytes: 64 * MIB, processes: 32 });
    // the limit is in force before anything allocates; without it the hog stops at 512 MiB by itself
    expect(limitsOf(cgroup).memory).toBe(64 * MIB);
    expect(await cgroup.exceeded()).toEqual({ memory: false, processes: false });
    const hog = "b = []\nfor _ in range(64):\n    b.append(bytearray(8 << 20))\nprint('allocated 512 MiB')";
    const run = start(cgroup.wrap({ cmd: "python3", args: ["-c", hog] }), 30_000);
    const exit = await run.exited;
    expect(run.output()).not.toContain("allocated");
    expect(exit.signal).toBe("SIGKILL");
    expect(await cgroup.exceeded()).toEqual({ memory: true, processes: false });
  });

  it("refuses a fork bomb's forks at the process limit, says so, and killAll leaves nothing", {
    timeout: 40_000,
  }, async () => {
    const cgroup = await create({ memoryBytes: 256 * MIB, processes: 32 });
    expect(limitsOf(cgroup).processes).toBe(32);
    // forks (200 at most) until refused, then waits with its children, a daemon among them
    const bomb = `
import os, time
n = 0
try:
    for _ in range(200):
        if os.fork() == 0:
            if n == 0:
                os.setsid()
            time.sleep(60)
            os._exit(0)
        n += 1
    print("refused none", flush=True)
except OSError as e:
    print("forked", n, "refused", e.errno, flush=True)
time.sleep(60)
`;
    const run = start(cgroup.wrap({ cmd: "python3", args: ["-c", bomb] }), 30_000);
    await until(
      "the bomb is refused",
      () => run.output().includes("refused"),
      20_000,
      () => `(output: ${run.output()}; processes: ${procs(cgroup).length})`,
    );
    expect(run.output()).toMatch(/^forked \d+ refused 11$/m);
    const running = procs(cgroup);
    expect(running.length).toBeGreaterThan(16);
    expect(running.length).toBeLessThanOrEqual(32);
    expect(await cgroup.exceeded()).toEqual({ memory: false, processes: true });

    await cgroup.killAll();
    expect(procs(cgroup)).toEqual([]);
    expect(
      running.filter(
        (pid) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8")),
      ),
    ).toEqual([]);
    expect((await run.exited).signal).toBe("SIGKILL");
  });
});

describe.skipIf(layout.kind === "none")(`removeLeftoverCgroups, real (${skipped})`, () => {
  it("kills and removes the build cgroups of a server that is gone, and leaves a running server's alone", {
    timeout: 30_000,
  }, async () => {
    const ours = await create({ memoryBytes: 64 * MIB, processes: 32 });
    // what a server killed with kill -9 left: its start time is not pid 1's, so it is gone
    const name = `pyci-build-1.99999999999-${unique()}`;
    const parents =
      layout.kind === "v2"
        ? [layout.dir]
        : layout.kind === "v1"
          ? [layout.memory, layout.pids, ...(layout.freezer ? [layout.freezer] : [])]
          : [];
    const dirs = parents.map((parent) => `${parent}/${name}`);
    dirs.forEach((dir) => mkdirSync(dir));
    if (layout.kind === "v1") writeFileSync(`${dirs[1]}/pids.max`, "32");
    const sleeper = start(
      { cmd: "sh", args: ["-c", 'for f; do echo $$ > "$f/cgroup.procs"; done; exec sleep 60', "sh", ...dirs] },
      30_000,
    );
    await until("the sleeper joined", () => dirs.every((dir) => read(`${dir}/cgroup.procs`) !== ""));

    const removed = await removeLeftoverCgroups();
    expect(removed).toContain(name);
    expect(removed.some((leftover) => ours.dirs[0]!.endsWith(leftover))).toBe(false);
    expect(dirs.filter(existsSync)).toEqual([]);
    expect((await sleeper.exited).signal).toBe("SIGKILL");
    expect(ours.dirs.filter(existsSync)).toEqual(ours.dirs);
  });
});
