import type { StepResult, StepState } from "../pipeline/types.js";

export type StatusState = "pending" | "success" | "failure" | "error";
export type CheckConclusion = "success" | "failure" | "neutral" | "cancelled" | "skipped" | "timed_out";

/**
 * The one table from pyci's step states to GitHub's words. `failure` means
 * the tool said no; `error` means pyci could not run it. Check runs have no
 * `error` conclusion, so an error concludes the run as `failure` (its title
 * says pyci could not run a step).
 */
const STATUS_STATE: Record<StepState, StatusState> = {
  success: "success",
  failure: "failure",
  error: "error",
  skipped: "success",
};

export function statusState(state: StepState): StatusState {
  return STATUS_STATE[state];
}

export function checkConclusion(steps: StepResult[]): CheckConclusion {
  if (steps.some((s) => s.state === "failure" || s.state === "error")) return "failure";
  const work = steps.filter((s) => s.name !== "checkout");
  if (work.length > 0 && work.every((s) => s.state === "skipped")) return "skipped";
  return "success";
}

/** Short title of a finished build, for the check run. */
export function buildTitle(steps: StepResult[]): string {
  const errored = steps.filter((s) => s.state === "error");
  const failed = steps.filter((s) => s.state === "failure");
  const parts = [...failed, ...errored].map((s) => `${s.name}: ${s.summary}`);
  if (parts.length === 0) return steps.map((s) => s.summary).join("; ") || "Nothing to do";
  return parts.join("; ");
}
