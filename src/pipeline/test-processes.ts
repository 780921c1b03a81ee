import { availableParallelism } from "node:os";

/** `test.parallel: auto` uses at most this many processes: past it, startup and imports outweigh the gain. */
export const MAX_AUTO_PROCESSES = 8;

/**
 * How many processes run a repository's tests: `test.parallel` as given,
 * `auto` one per CPU this process may use (at most MAX_AUTO_PROCESSES), one
 * when it is not set.
 */
export function testProcesses(parallel: number | "auto" | undefined, cpus = availableParallelism()): number {
  if (parallel === undefined) return 1;
  if (parallel === "auto") return Math.max(1, Math.min(cpus, MAX_AUTO_PROCESSES));
  return parallel;
}
