import type { Pipeline } from "../pipeline/run-pipeline.js";
import { PR_PIPELINE } from "../pipeline/pr-pipeline.js";

export type PipelineName = "pr";

/** A pipeline and how it shows on GitHub: a commit status per reported step, one check run. */
export interface PipelineSpec {
  stages: Pipeline;
  /** Step name → commit status context. */
  contexts: Record<string, string>;
  checkRunName: string;
}

export const PIPELINES: Record<PipelineName, PipelineSpec> = {
  pr: { stages: PR_PIPELINE, contexts: { check: "ci/check", test: "ci/test" }, checkRunName: "pyci" },
};
