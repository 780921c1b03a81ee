import type { Pipeline } from "./run-pipeline.js";
import { checkStep } from "./steps/check.js";
import { checkoutStep } from "./steps/checkout.js";
import { installStep } from "./steps/install.js";
import { testStep } from "./steps/test.js";

/**
 * The pull-request pipeline: the checkout, then the repository's requirements
 * installed when it declares any, then check (pyright) and test (unittest)
 * side by side.
 */
export const PR_PIPELINE: Pipeline = { checkout: checkoutStep, stages: [[installStep], [checkStep, testStep]] };
