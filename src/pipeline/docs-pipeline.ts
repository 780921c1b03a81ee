import type { Pipeline } from "./run-pipeline.js";
import { checkoutStep } from "./steps/checkout.js";
import { docsStep } from "./steps/docs/docs.js";

/**
 * The merge pipeline: the checkout, then the Sphinx docs. The docs step
 * installs the docs' own requirements (docs/requirements.txt or
 * docs.install) itself.
 */
export const DOCS_PIPELINE: Pipeline = { checkout: checkoutStep, stages: [[docsStep]] };
