import { DOCS_PIPELINE } from "../pipeline/docs-pipeline.js";
import { PR_PIPELINE } from "../pipeline/pr-pipeline.js";
import type { Pipeline } from "../pipeline/run-pipeline.js";

import type { PipelineName } from "../model/build-request.js";

export type { PipelineName };

/** A pipeline and how it shows on GitHub: commit statuses and one check run. */
export interface PipelineSpec {
  /** The checkout and the steps after it (pipeline/pr-pipeline.ts, docs-pipeline.ts). */
  pipeline: Pipeline;
  /**
   * Commit status context → the steps it reports, from each step's `status`
   * (and the docs release's `publish`). The status takes the first failing
   * step's state and words, else the first step's.
   */
  contexts: Record<string, string[]>;
  checkRunName: string;
  /** Publish the docs archive as a GitHub Release when the pipeline succeeds. */
  publishesDocs: boolean;
}

export const PIPELINES: Record<PipelineName, PipelineSpec> = {
  pr: {
    pipeline: PR_PIPELINE,
    contexts: statusContexts(PR_PIPELINE),
    checkRunName: "pyci",
    publishesDocs: false,
  },
  docs: {
    pipeline: DOCS_PIPELINE,
    contexts: statusContexts(DOCS_PIPELINE, { "ci/docs": ["publish"] }),
    checkRunName: "pyci docs",
    publishesDocs: true,
  },
};

/** Each status context and the steps it reports, in the pipeline's order; `extra` adds steps that run outside it. */
function statusContexts(pipeline: Pipeline, extra: Record<string, string[]> = {}): Record<string, string[]> {
  const contexts: Record<string, string[]> = {};
  for (const step of pipeline.stages.flat()) if (step.status) (contexts[step.status] ??= []).push(step.name);
  for (const [context, names] of Object.entries(extra)) (contexts[context] ??= []).push(...names);
  return contexts;
}
