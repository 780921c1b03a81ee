import { DOCS_PIPELINE } from "../pipeline/docs-pipeline.js";
import { PR_PIPELINE } from "../pipeline/pr-pipeline.js";
import type { Pipeline } from "../pipeline/run-pipeline.js";

import type { PipelineName } from "../model/build-request.js";

export type { PipelineName };

/** A pipeline and how it shows on GitHub: commit statuses and one check run. */
export interface PipelineSpec {
  stages: Pipeline;
  /**
   * Commit status context → the steps it reports. The status takes the
   * first failing step's state and words, else the first step's.
   */
  contexts: Record<string, string[]>;
  checkRunName: string;
  /** Publish the docs archive as a GitHub Release when the pipeline succeeds. */
  publishesDocs: boolean;
}

export const PIPELINES: Record<PipelineName, PipelineSpec> = {
  pr: {
    stages: PR_PIPELINE,
    contexts: { "ci/check": ["check"], "ci/test": ["test"] },
    checkRunName: "pyci",
    publishesDocs: false,
  },
  docs: {
    stages: DOCS_PIPELINE,
    contexts: { "ci/docs": ["docs", "publish"] },
    checkRunName: "pyci docs",
    publishesDocs: true,
  },
};
