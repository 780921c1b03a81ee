import { readFileSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import type { BuildLimits } from "./build-limits.js";
import { cgroupLayout, type CgroupLayout } from "./cgroup-layout.js";
import { killCgroup, type CgroupDirs } from "./kill-cgroup.js";

interface Command {
  cmd: string;
  args: string[];
}

/** A build's cgroup: its processes together get `memoryBytes` (swap included) and `processes` (threads included). */
export interface BuildCgroup {
  /** Its directories: one on cgroup v2, one per hierarchy on v1 (for logs). */
  readonly dirs: string[];
  /**
   * The command line that joins the cgroup, then execs `command`. It writes to the cgroup's files,
   * so it goes first, before setpriv or bwrap gives up root. Exits 125 when it cannot join.
   */
  wrap(command: Command): Command;
  /** SIGKILLs every process in it until none is left (see killCgroup). */
  killAll(): Promise<void>;
  /**
   * Whether, since it was made, the kernel's OOM killer killed a process in it (memory), and whether
   * a fork or a thread was refused at its process limit (processes).
   */
  exceeded(): Promise<{ memory: boolean; processes: boolean }>;
  /** killAll, then removes it. */
  remove(): Promise<void>;
}

/** What every build cgroup is called: `pyci-build-<pid>.<start time>-<name>`, after the server that made it. */
const PREFIX = "pyci-build-";
/** Where pyci's processes move on cgroup v2 when the cgroup they are in must hand its controllers down. */
const SERVER_LEAF = "pyci-server";
const NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** A page on any Linux pyci runs on (4 KiB on x86, up to 64 KiB on arm64): the kernel rounds memory limits down to it. */
const MAX_PAGE = 64 * 1024;

/**
 * `sh -c JOIN pyci-join-cgroup <cgroup.procs files…> -- <command…>`: the paths are arguments,
 * never part of the script.
 */
const JOIN =
  'while [ "$1" != -- ]; do echo $$ > "$1" || { echo "pyci: cannot join the build\'s cgroup ($1)" >&2; exit 125; }; shift; done; shift; exec "$@"';

let detected: Promise<CgroupLayout> | undefined;

/**
 * The cgroups builds get on this host, found once, on first use: log it at start-up. `none` says
 * why; builds then get rlimits (rlimit-command.ts) instead. On v2 this enables memory and pids
 * for the cgroups inside pyci's own, moving every process of pyci's cgroup into a leaf of it
 * (`pyci-server`) when the kernel requires: run pyci in a cgroup of its own (a systemd service
 * with Delegate=yes, a container).
 */
export function buildCgroupLayout(): Promise<CgroupLayout> {
  detected ??= detect();
  return detected;
}

/**
 * A cgroup for the build `name` (letters, digits, - and _), inside pyci's own, with the limits
 * set and read back; undefined where the host gives pyci none (see buildCgroupLayout).
 */
export async function createBuildCgroup(
  name: string,
  limits: Pick<BuildLimits, "memoryBytes" | "processes">,
): Promise<BuildCgroup | undefined> {
  if (!NAME.test(name))
    throw new Error(`A build cgroup's name is 1 to 64 letters, digits, - and _, not ${JSON.stringify(name)}.`);
  const layout = await buildCgroupLayout();
  if (layout.kind === "none") return undefined;
  const cgroup = cgroupDirs(layout, `${PREFIX}${owner(process.pid) ?? process.pid}-${name}`);
  const dirs = allDirs(cgroup);
  const made: string[] = [];
  try {
    for (const dir of dirs) {
      await mkdir(dir);
      made.push(dir);
    }
    const memory = Math.floor(limits.memoryBytes / 4096) * 4096;
    if (cgroup.version === 2) {
      await limit(`${cgroup.dir}/memory.max`, memory);
      await limit(`${cgroup.dir}/memory.swap.max`, 0, { optional: true }); // absent without swap accounting
      await limit(`${cgroup.dir}/pids.max`, limits.processes);
    } else {
      const [memoryDir, pidsDir] = dirs as [string, string];
      await writeFile(`${memoryDir}/memory.oom_control`, "0"); // a new cgroup inherits a parent's disabled OOM killer: a hog would hang
      await limit(`${memoryDir}/memory.limit_in_bytes`, memory);
      await limit(`${memoryDir}/memory.memsw.limit_in_bytes`, memory, { optional: true }); // absent without swapaccount=1
      await limit(`${pidsDir}/pids.max`, limits.processes);
    }
  } catch (error) {
    await Promise.all(made.map((dir) => rmdir(dir).catch(() => undefined)));
    throw error;
  }
  return buildCgroup(cgroup);
}

/**
 * At start-up: kills the processes of the build cgroups an earlier server left (one that crashed
 * or was killed; a server still running keeps its own) and removes them. Returns their names.
 */
export async function removeLeftoverCgroups(): Promise<string[]> {
  const layout = await buildCgroupLayout();
  if (layout.kind === "none") return [];
  const parents =
    layout.kind === "v2" ? [layout.dir] : [layout.memory, layout.pids, ...(layout.freezer ? [layout.freezer] : [])];
  const names = new Set<string>();
  for (const parent of parents) {
    for (const entry of await readdir(parent, { withFileTypes: true })) {
      if (entry.isDirectory() && entry.name.startsWith(PREFIX) && !ownerRuns(entry.name)) names.add(entry.name);
    }
  }
  const failures: unknown[] = [];
  for (const name of names)
    await buildCgroup(cgroupDirs(layout, name))
      .remove()
      .catch((error: unknown) => failures.push(error));
  if (failures.length > 0)
    throw new AggregateError(failures, `${failures.length} leftover build cgroups could not be removed`);
  return [...names];
}

function buildCgroup(cgroup: CgroupDirs): BuildCgroup {
  const dirs = allDirs(cgroup);
  const memory = cgroup.version === 2 ? `${cgroup.dir}/memory.events` : `${cgroup.dirs[0]}/memory.oom_control`;
  const pids = cgroup.version === 2 ? `${cgroup.dir}/pids.events` : `${cgroup.dirs[1]}/pids.events`;
  const killAll = () => killCgroup(cgroup);
  return {
    dirs,
    wrap: (command) => ({
      cmd: "/bin/sh",
      args: [
        "-c",
        JOIN,
        "pyci-join-cgroup",
        ...dirs.map((dir) => `${dir}/cgroup.procs`),
        "--",
        command.cmd,
        ...command.args,
      ],
    }),
    killAll,
    // oom_kill is counted since Linux 4.13; before it a hog is killed all the same, and not told apart here
    exceeded: async () => ({
      memory: (await counter(memory, "oom_kill")) > 0,
      processes: (await counter(pids, "max")) > 0,
    }),
    async remove() {
      await killAll();
      for (const dir of dirs) await removeDir(dir);
    },
  };
}

/** The cgroup `leaf` in each hierarchy; on v1 memory's first, then pids', then the freezer's. */
function cgroupDirs(layout: Exclude<CgroupLayout, { kind: "none" }>, leaf: string): CgroupDirs {
  if (layout.kind === "v2") return { version: 2, dir: `${layout.dir}/${leaf}` };
  const freezer = layout.freezer && `${layout.freezer}/${leaf}`;
  return {
    version: 1,
    dirs: [`${layout.memory}/${leaf}`, `${layout.pids}/${leaf}`, ...(freezer ? [freezer] : [])],
    ...(freezer ? { freezer } : {}),
  };
}

function allDirs(cgroup: CgroupDirs): string[] {
  return cgroup.version === 2 ? [cgroup.dir] : cgroup.dirs;
}

async function detect(): Promise<CgroupLayout> {
  let layout: CgroupLayout;
  try {
    layout = cgroupLayout(
      await readFile("/proc/self/cgroup", "utf8"),
      await readFile("/proc/self/mountinfo", "utf8"),
      readIfThere,
    );
  } catch (error) {
    return { kind: "none", reason: `/proc/self/cgroup cannot be read (${(error as Error).message})` };
  }
  if (layout.kind === "none") return layout;
  const parents =
    layout.kind === "v2" ? [layout.dir] : [layout.memory, layout.pids, ...(layout.freezer ? [layout.freezer] : [])];
  try {
    if (layout.kind === "v2") await handDownControllers(layout.dir);
    for (const parent of parents) {
      const probe = `${parent}/pyci-probe-${process.pid}`;
      await mkdir(probe, { recursive: true });
      await rmdir(probe);
    }
    return layout;
  } catch (error) {
    const reason = `pyci cannot make cgroups in ${parents.join(" and ")} (${(error as Error).message}); it needs root, or a cgroup delegated to its user`;
    return { kind: "none", reason };
  }
}

/**
 * Enables memory and pids for the cgroups inside pyci's own (v2). A cgroup that hands controllers
 * down holds no processes itself (the no-internal-process rule), so pyci's move into a leaf.
 */
async function handDownControllers(dir: string): Promise<void> {
  const control = `${dir}/cgroup.subtree_control`;
  const enabled = (await readFile(control, "utf8")).trim().split(/\s+/);
  if (enabled.includes("memory") && enabled.includes("pids")) return;
  try {
    return await writeFile(control, "+memory +pids");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EBUSY") throw error;
  }
  const leaf = `${dir}/${SERVER_LEAF}`;
  await mkdir(leaf, { recursive: true });
  // processes forked meanwhile land in the old cgroup: move until none is left there
  for (let round = 0; round < 10; round++) {
    const pids = (await readFile(`${dir}/cgroup.procs`, "utf8")).split("\n").filter(Boolean);
    if (pids.length === 0) break;
    for (const pid of pids) await writeFile(`${leaf}/cgroup.procs`, pid).catch(unlessExited);
  }
  await writeFile(control, "+memory +pids");
}

/** Writes a limit and reads it back: a limit pyci counts on that the kernel did not take is worse than none. */
async function limit(file: string, value: number, { optional = false } = {}): Promise<void> {
  try {
    await writeFile(file, String(value));
  } catch (error) {
    if (optional && (error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  const kept = Number((await readFile(file, "utf8")).trim());
  if (!(kept <= value && kept > value - MAX_PAGE))
    throw new Error(`${file} reads ${kept} after pyci wrote ${value} to it`);
}

/** `key N` in a flat-keyed cgroup file (memory.events, pids.events, memory.oom_control); 0 when absent. */
async function counter(file: string, key: string): Promise<number> {
  const text = await readFile(file, "utf8").catch(() => "");
  return Number(new RegExp(`^${key} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
}

async function removeDir(dir: string): Promise<void> {
  // right after its last process exits, a cgroup may still be busy for a moment
  for (let attempt = 0; ; attempt++) {
    try {
      return await rmdir(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return;
      if (code !== "EBUSY" || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** `<pid>.<start time>`: names a process uniquely for the life of the host (pids are reused, start times are not). */
function owner(pid: number): string | undefined {
  try {
    // the fields after "(comm)": state is the 3rd field of the line, start time the 22nd
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8")
      .replace(/^.*\) /s, "")
      .split(" ");
    return `${pid}.${fields[19]}`;
  } catch {
    return undefined;
  }
}

function ownerRuns(name: string): boolean {
  const [, tag, pid] = /^pyci-build-((\d+)\.\d+)-/.exec(name) ?? [];
  return tag !== undefined && owner(Number(pid)) === tag;
}

function readIfThere(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

function unlessExited(error: NodeJS.ErrnoException): void {
  if (error.code !== "ESRCH") throw error;
}
