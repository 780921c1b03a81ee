/**
 * What one build may use (CI_BUILD_MEMORY, CI_BUILD_PROCESSES, CI_BUILD_TMP, CI_BUILD_DISK).
 * They bound the build as a whole where the host has cgroups (see build-cgroup.ts); without
 * them memory and files are bounded per process (see rlimit-command.ts).
 */
export interface BuildLimits {
  /** Memory of all its processes together, page cache and /tmp included; swap is not allowed past it. */
  memoryBytes: number;
  /** Processes and threads at once (both the cgroup's pids.max and RLIMIT_NPROC count threads). */
  processes: number;
  /** The size of the sandbox's /tmp (a tmpfs: it is memory, and counts as such too). */
  tmpBytes: number;
  /** What its checkout and scratch dir may hold on disk: the venv, caches, TMPDIR, anything written. */
  diskBytes: number;
}

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/**
 * A test suite's needs with room to spare, not a server's: a Python project's tests and pyright
 * rarely need 2 GiB, a venv with numpy and torch fits in 10 GiB. 4096 processes, because threads
 * count: OpenBLAS starts one per core in every process, and pytest-xdist starts a worker per core.
 */
export const DEFAULT_BUILD_LIMITS: BuildLimits = {
  memoryBytes: 4 * GIB,
  processes: 4096,
  tmpBytes: 1 * GIB,
  diskBytes: 10 * GIB,
};

export type LimitKind = "memory" | "processes" | "tmp" | "disk";

/** The `error` summary of a build that hit a limit, e.g. "used more than 4 GiB of memory". */
export function describeLimitHit(kind: LimitKind, limits: BuildLimits): string {
  switch (kind) {
    case "memory":
      return `used more than ${formatBytes(limits.memoryBytes)} of memory (CI_BUILD_MEMORY)`;
    case "processes":
      return `started more than ${limits.processes} processes and threads at once (CI_BUILD_PROCESSES)`;
    case "tmp":
      return `filled its ${formatBytes(limits.tmpBytes)} /tmp (CI_BUILD_TMP)`;
    case "disk":
      return `wrote more than ${formatBytes(limits.diskBytes)} to disk (CI_BUILD_DISK)`;
  }
}

/** 4 GiB, 1.5 GiB, 64 MiB, 512 KiB: binary units, at most one decimal. */
function formatBytes(bytes: number): string {
  for (const [unit, size] of [
    ["GiB", GIB],
    ["MiB", MIB],
    ["KiB", 1024],
  ] as const) {
    if (bytes >= size) return `${Math.round((bytes / size) * 10) / 10} ${unit}`;
  }
  return `${bytes} bytes`;
}
