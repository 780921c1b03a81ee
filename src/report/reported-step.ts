import type { StepResult } from "../pipeline/types.js";

/**
 * The step a commit status of `names` reports: the first failing one of its
 * steps, else its last; a build stopped earlier reports what stopped it.
 */
export function reportedStep(steps: StepResult[], names: string[]): StepResult {
  const own = steps.filter((s) => names.includes(s.name));
  const failed = (s: StepResult) => s.state === "error" || s.state === "failure";
  return own.find(failed) ?? own.at(-1) ?? steps.find(failed) ?? steps[0]!;
}
