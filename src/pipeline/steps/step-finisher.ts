import type { StepResult } from "../types.js";
import { oneLine } from "./step-summary.js";

export type FinishStep = (
  state: StepResult["state"],
  summary: string,
  exitCode: number | null,
  extra?: Partial<StepResult>,
) => StepResult;

/**
 * The result maker of a step that ends at one of several places, timed from
 * this call: finish("failure", "pip install -r requirements.txt failed with
 * exit code 1", 1) is the step's result, its summary made one line.
 */
export function stepFinisher(name: string): FinishStep {
  const started = performance.now();
  return (state, summary, exitCode, extra = {}) => ({
    name,
    state,
    summary: oneLine(summary),
    exitCode,
    durationMs: Math.round(performance.now() - started),
    ...extra,
  });
}
