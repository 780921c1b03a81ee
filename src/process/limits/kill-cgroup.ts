import { readFile, writeFile } from "node:fs/promises";

/** A cgroup to empty: v2 (one directory), or v1 (one per hierarchy, the freezer's among them when it is mounted). */
export type CgroupDirs = { version: 2; dir: string } | { version: 1; dirs: string[]; freezer?: string };

/** How long processes may take to die (uninterruptible sleep on a slow disk or NFS) before killCgroup gives up. */
const GIVE_UP_MS = 10_000;
/** How long a v1 freezer may take to stop every process before they are killed anyway. */
const FREEZE_MS = 1_000;

/**
 * SIGKILLs every process in the cgroup until none is left, forks between a listing and the kill
 * included: v2 kills them all at once (cgroup.kill, Linux 5.14); v1 freezes them first (the
 * freezer: SIGKILL reaches a frozen process when it is thawed), and without a freezer it kills
 * what it finds again and again (pids.max bounds what a fork bomb can start meanwhile).
 * Throws when processes are still there after 10 s.
 */
export async function killCgroup(cgroup: CgroupDirs): Promise<void> {
  const dirs = cgroup.version === 2 ? [cgroup.dir] : cgroup.dirs;
  if (cgroup.version === 2)
    await writeFile(`${cgroup.dir}/cgroup.kill`, "1").catch(unlessMissing); // before 5.14: killed below
  else if (cgroup.freezer) await killFrozen(cgroup.freezer);
  for (const end = Date.now() + GIVE_UP_MS; ; ) {
    const pids = (await Promise.all(dirs.map(processes))).flat();
    if (pids.length === 0) return;
    if (Date.now() > end) {
      throw new Error(
        `processes ${pids.join(", ")} in ${dirs.join(", ")} are still there 10 s after SIGKILL (uninterruptible sleep? see /proc/<pid>/stack)`,
      );
    }
    pids.forEach(kill);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function killFrozen(freezer: string): Promise<void> {
  const state = `${freezer}/freezer.state`;
  try {
    await writeFile(state, "FROZEN");
  } catch (error) {
    return unlessMissing(error as NodeJS.ErrnoException); // a leftover that never joined the freezer
  }
  try {
    for (
      const end = Date.now() + FREEZE_MS;
      (await readFile(state, "utf8")).trim() !== "FROZEN" && Date.now() < end;
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    (await processes(freezer)).forEach(kill);
  } finally {
    await writeFile(state, "THAWED");
  }
}

/** The pids in a cgroup (not its zombies); none when it is gone. */
async function processes(dir: string): Promise<number[]> {
  const listed = await readFile(`${dir}/cgroup.procs`, "utf8").catch(unlessMissing);
  return (listed ?? "").split("\n").filter(Boolean).map(Number);
}

function unlessMissing(error: NodeJS.ErrnoException): undefined {
  if (error.code !== "ENOENT") throw error;
  return undefined;
}

function kill(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // exited meanwhile
  }
}
