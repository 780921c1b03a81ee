import { randomBytes } from "node:crypto";
import { createBuildCgroup } from "./build-cgroup.js";
import type { BuildLimits, LimitKind } from "./build-limits.js";
import { rlimitCommand } from "./rlimit-command.js";
import type { SandboxLimits } from "../sandbox/sandbox.js";
import { watchDisk } from "./watch-disk.js";

/** A build held to its limits, from its first step to `release()`. */
export interface BuildBounds {
  /** What every command of the build gets (Sandbox.limits). */
  limits: SandboxLimits;
  /** The first limit the build hit so far (the kernel's OOM killer, a refused fork, the disk watchdog), if any. */
  hit(): Promise<LimitKind | undefined>;
  /** Stops watching and removes the build's cgroup, killing what is left in it. */
  release(): Promise<void>;
}

/**
 * Holds one build to `limits` (CI_BUILD_*):
 * 1. a cgroup of its own where the host has one for pyci (memory with swap, processes), joined
 *    by every command before the sandbox drops root; otherwise each command gets rlimits
 *    (processes of the build's uid, each process's data and file size);
 * 2. a watchdog over what its directories hold on disk, which stops every process of the build
 *    (the cgroup's, else `stopAll`: the build uid's) when they pass `diskBytes`;
 * 3. /tmp in bwrap, a tmpfs of `tmpBytes`.
 */
export async function boundBuild(
  limits: BuildLimits,
  dirs: string[],
  stopAll: () => Promise<void>,
): Promise<BuildBounds> {
  // 1. the cgroup, or rlimits
  const cgroup = await createBuildCgroup(randomBytes(6).toString("hex"), limits);
  const wrap = cgroup
    ? (command: { cmd: string; args: string[] }) => cgroup.wrap(command)
    : (command: { cmd: string; args: string[] }) => rlimitCommand(command, limits);

  // 2. the disk
  let diskFull = false;
  const watch = watchDisk(dirs, limits.diskBytes, () => {
    diskFull = true;
    void (cgroup ? cgroup.killAll() : stopAll()).catch(() => undefined);
  });

  return {
    limits: { tmpBytes: limits.tmpBytes, wrap },
    async hit() {
      if (diskFull) return "disk";
      const exceeded = await cgroup?.exceeded();
      if (exceeded?.memory) return "memory";
      if (exceeded?.processes) return "processes";
      return undefined;
    },
    async release() {
      watch.stop();
      await cgroup?.remove();
    },
  };
}
