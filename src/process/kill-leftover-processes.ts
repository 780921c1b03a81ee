import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** What a checkout's directory is called inside CI_WORK_DIR (see workspace.ts). */
const CHECKOUT_PREFIX = "pyci-build-";

/**
 * Kills (SIGKILL) every process working in a checkout under `workDir` whose
 * pyci process has `ended` (a checkout already removed counts as ended):
 * what the steps of builds left running when an earlier pyci process was
 * killed (their process groups outlive it). The processes of a live pyci's
 * checkouts — a `pyci run` in the same CI_WORK_DIR — are left alone. Call
 * it at start-up, before any build of this process runs. A process counts
 * when its working directory, or an argument, lies in a checkout. Returns
 * the pids killed.
 */
export function killLeftoverProcesses(workDir: string, ended: (checkout: string) => boolean): number[] {
  const root = join(workDir, CHECKOUT_PREFIX);
  const endedCheckouts = new Map<string, boolean>();
  const isEnded = (checkout: string) => {
    if (!endedCheckouts.has(checkout)) endedCheckouts.set(checkout, ended(checkout));
    return endedCheckouts.get(checkout)!;
  };
  const killed: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return killed; // no procfs: nothing to find
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const checkout = checkoutOf(pid, root);
    if (checkout === undefined || !isEnded(checkout)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return killed;
}

/** The checkout (`<workDir>/pyci-build-…`) the process works in, if any. */
function checkoutOf(pid: number, root: string): string | undefined {
  let paths: string[];
  try {
    paths = [readlinkSync(`/proc/${pid}/cwd`), ...readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")];
  } catch {
    return undefined; // gone, or not ours to read
  }
  const path = paths.find((p) => p.startsWith(root));
  if (path === undefined) return undefined;
  // the checkout's own name: up to the next "/", without the " (deleted)" of a removed directory
  const name = path
    .slice(root.length)
    .split("/")[0]!
    .replace(/ \(deleted\)$/, "");
  return `${root}${name}`;
}
