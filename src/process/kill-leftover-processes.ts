import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";

/** What a checkout's directory is called inside CI_WORK_DIR (see workspace.ts). */
const CHECKOUT_PREFIX = "pyci-build-";

/**
 * Kills (SIGKILL) every process working in a checkout under `workDir`: what
 * the steps of builds left running when an earlier pyci process was killed
 * (their process groups outlive it). Call it at start-up, before any build
 * of this process runs. A process counts when its working directory, or an
 * argument, lies in a checkout. Returns the pids killed.
 */
export function killLeftoverProcesses(workDir: string): number[] {
  const root = join(workDir, CHECKOUT_PREFIX);
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
    if (pid === process.pid || !inCheckout(pid, root)) continue;
    try {
      process.kill(pid, "SIGKILL");
      killed.push(pid);
    } catch {
      // gone meanwhile, or not ours
    }
  }
  return killed;
}

function inCheckout(pid: number, root: string): boolean {
  try {
    if (readlinkSync(`/proc/${pid}/cwd`).startsWith(root)) return true;
    return readFileSync(`/proc/${pid}/cmdline`, "utf8")
      .split("\0")
      .some((arg) => arg.startsWith(root));
  } catch {
    return false; // gone, or not ours to read
  }
}
