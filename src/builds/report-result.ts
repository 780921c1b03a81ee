import { completeCheckRun } from "../github/check-run.js";
import { setStatus } from "../github/set-status.js";
import type { GitHubWriter } from "../github/types.js";
import type { StepResult } from "../pipeline/types.js";
import { annotationsFor } from "../report/annotations.js";
import { logTailText } from "../report/log-tail-text.js";
import { buildTitle, checkConclusion, statusState } from "../report/state-map.js";
import { summaryMarkdown } from "../report/summary-markdown.js";
import type { BuildRecord } from "../store/build-store.js";
import { buildUrl, type BuildDeps } from "./build-deps.js";
import type { BuildRequest } from "./build-request.js";
import { PIPELINES } from "./pipelines.js";

/**
 * The end of a build on GitHub: one final status per context (a step that
 * did not run takes the state and words of the step that stopped it), and
 * the check run completed with the report, the log tails and annotations.
 */
export async function reportResult(deps: BuildDeps, github: GitHubWriter, request: BuildRequest, record: BuildRecord): Promise<void> {
  const steps = record.steps;
  const url = buildUrl(deps.config, record.id);
  const spec = PIPELINES[request.pipeline];
  for (const [step, context] of Object.entries(spec.contexts)) {
    const result = steps.find((r) => r.name === step) ?? blocking(steps);
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

function blocking(steps: StepResult[]): StepResult {
  return steps.find((r) => r.state === "error" || r.state === "failure") ?? steps[0]!;
}
