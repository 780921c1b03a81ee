import type { RunResult } from "../../process/exec.js";
import { formatSeconds } from "./step-summary.js";

/**
 * Why `what` (the tool as a summary names it: "pyright", "pip", "Sphinx")
 * did not run to an exit code of its own, or undefined when it did: it could
 * not start, printed more than pyci reads, outlived `timeoutMs`, was
 * cancelled, or was killed by a signal. Each is pyci's problem, not the
 * repository's: the step's state is `error`. The summary names what stopped,
 * so that "pip timed out after 5m" says which of a step's commands it was.
 */
export function cannotRun(r: RunResult, what: string, timeoutMs: number): string | undefined {
  if (r.spawnError) return `Could not start ${what}: ${r.spawnError}`;
  if (r.outputCapExceeded) return `${what} printed more output than pyci reads (see the log)`;
  if (r.timedOut) return `${what} timed out after ${formatSeconds(timeoutMs)}`;
  if (r.cancelled) return "cancelled";
  if (r.exitCode === null) return `${what} was killed by ${r.signal ?? "a signal"}`;
  return undefined;
}
