import type { BuildLimits } from "./build-limits.js";

/**
 * The command line that runs `command` under resource limits of its own process (util-linux's
 * prlimit): the fallback where the host gives pyci no cgroup for the build (see build-cgroup.ts).
 * Soft and hard limits are set alike, so the code under test cannot raise them. Weaker than a
 * cgroup, and per process, not per build:
 *
 * - RLIMIT_NPROC counts every process and thread of the real uid, the whole host's: it holds only
 *   when the build runs as a uid no one else uses (root ignores it), so put the uid switch
 *   (setpriv, bwrap) after prlimit, inside `command`.
 * - RLIMIT_DATA bounds each process's heap and private writable mappings, so a build may use up to
 *   `processes` times it. It is not RLIMIT_AS, which counts address space merely reserved: Node
 *   reserves 10 GiB for each WebAssembly memory (`new WebAssembly.Memory` fails under RLIMIT_AS
 *   4 GiB here, with node 20.20). Measured here with pyright 1.1.414: `--version` needs 128 MiB
 *   (at 64 MiB V8 aborts, at 32 MiB it hangs), checking 72 files of the standard library peaked at
 *   350 MB RSS and aborted under 256 MiB; both run under the 4 GiB default.
 * - RLIMIT_FSIZE bounds the size of each file written (SIGXFSZ past it), not the total: the disk
 *   watchdog (watch-disk.ts) bounds that.
 */
export function rlimitCommand(
  command: { cmd: string; args: string[] },
  limits: BuildLimits,
): { cmd: string; args: string[] } {
  const bounds = [`--nproc=${limits.processes}`, `--data=${limits.memoryBytes}`, `--fsize=${limits.diskBytes}`];
  return { cmd: "prlimit", args: [...bounds, "--", command.cmd, ...command.args] };
}
