import type { Pipeline } from "./run-pipeline.js";
import { checkStep } from "./steps/check.js";
import { installStep } from "./steps/install.js";
import { testStep } from "./steps/test.js";

/**
 * The pull-request pipeline: install the repository's requirements when it
 * declares any, then check (pyright) and test (unittest) side by side.
 */
export const PR_PIPELINE: Pipeline = [[installStep], [checkStep, testStep]];
