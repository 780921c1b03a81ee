import { completeCheckRun } from "../github/check-run.js";
import { setStatus } from "../github/set-status.js";
import type { GitHubWriter } from "../github/types.js";
import type { StepResult } from "../pipeline/types.js";
import { annotationsFor } from "../report/annotations.js";
import { logTailText } from "../report/log-tail-text.js";
import { buildTitle, checkConclusion, statusState } from "../report/state-map.js";
import { summaryMarkdown } from "../report/summary-markdown.js";
import type { BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import type { BuildRequest } from "../model/build-request.js";
import { PIPELINES } from "./pipelines.js";

/**
 * The end of a build on GitHub: one final status per context (a step that
 * did not run takes the state and words of the step that stopped it), and
 * the check run completed with the report, the log tails and annotations.
 */
export async function reportResult(deps: BuildDeps, github: GitHubWriter, request: BuildRequest, record: BuildRecord): Promise<void> {
  const steps = record.steps;
  const url = deps.buildUrl(record.id);
  const spec = PIPELINES[request.pipeline];
  for (const [context, names] of Object.entries(spec.contexts)) {
    const result = reported(steps, names);
    await setStatus(github, request, { context, state: statusState(result.state), description: result.summary, targetUrl: url });
  }
  if (record.checkRunId) {
    const logs = await Promise.all(steps.map(async (s) => ({ step: s.name, text: (await deps.store.readLog(record.id, s.name)) ?? "" })));
    await completeCheckRun(github, request, record.checkRunId, {
      conclusion: checkConclusion(steps),
      title: buildTitle(steps.filter((s) => s.name !== "checkout" || s.state !== "success")),
      summary: summaryMarkdown(steps, url),
      text: logTailText(logs.filter((l) => l.text !== "")),
      annotations: annotationsFor(steps),
    });
  }
}

/** The step a status reports: the first failing one of its steps, else its last; a build stopped earlier reports what stopped it. */
function reported(steps: StepResult[], names: string[]): StepResult {
  const own = steps.filter((s) => names.includes(s.name));
  const failed = (s: StepResult) => s.state === "error" || s.state === "failure";
  return own.find(failed) ?? own.at(-1) ?? steps.find(failed) ?? steps[0]!;
}
