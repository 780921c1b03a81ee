import { lstat, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

/** How many runs' logs `pyci run` keeps: this run's and the ones before it. */
export const KEPT_RUN_LOGS = 10;
/** The name of one run's folder: when it started (UTC, sortable), its pid, a random suffix. */
const RUN_NAME = /^\d{8}-\d{6}\.\d{3}-\d+-\w+$/;

/**
 * A new folder for one `pyci run`'s step logs, in `<workRoot>/pyci-logs-<uid>/`
 * (one per user: the default work root is the OS temp dir, which users
 * share), named after the time the run started and its pid (and a random
 * suffix: runs of one process in one millisecond). The folders of
 * older runs beyond the last KEPT_RUN_LOGS are removed. The parent is
 * refused when it is not this user's own directory (a link, someone else's).
 */
export async function newRunLogDir(workRoot: string, started = new Date()): Promise<string> {
  const parent = join(workRoot, `pyci-logs-${process.getuid?.() ?? "user"}`);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const info = await lstat(parent);
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) {
    throw new Error(`${parent} is not a directory of this user's own: remove it, or set CI_WORK_DIR elsewhere`);
  }
  const runs = (await readdir(parent)).filter((name) => RUN_NAME.test(name)).sort();
  const old = runs.slice(0, Math.max(0, runs.length - (KEPT_RUN_LOGS - 1)));
  await Promise.all(old.map((name) => rm(join(parent, name), { recursive: true, force: true })));
  // 2024-05-01T12:00:00.123Z → 20240501-120000.123
  const stamp = started.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 19);
  return mkdtemp(join(parent, `${stamp}-${process.pid}-`));
}
