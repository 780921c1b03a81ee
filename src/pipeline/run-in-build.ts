import { pathKind } from "../process/sandbox/sandbox-path-kind.js";
import { run, type RunOptions, type RunResult } from "../process/exec.js";
import type { StepContext } from "./types.js";
import type { Sandbox } from "../process/sandbox/sandbox.js";

/**
 * How steps start processes: always in the build's sandbox (ctx.sandbox,
 * which the pipeline sets for every build: "off" only where the operator
 * or the mode says so) and stopped with the build (ctx.signal). Anything
 * that runs, imports or installs the repository's code goes through here;
 * steps do not import exec.js (a test keeps it so).
 */
export function runInBuild(
  ctx: Pick<StepContext, "sandbox" | "signal">,
  options: Omit<RunOptions, "sandbox" | "signal" | "trusted">,
): Promise<RunResult> {
  return run({ ...options, sandbox: ctx.sandbox, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

/** The sandbox with more directories it may read (bwrap binds those that exist read-only): an interpreter found for one step, say. */
export function withReadable(sandbox: Sandbox, dirs: string[]): Sandbox {
  const readable = [
    ...new Set([...sandbox.readable, ...dirs.filter((dir) => dir.startsWith("/") && pathKind(dir) === "dir")]),
  ];
  return { ...sandbox, readable };
}
