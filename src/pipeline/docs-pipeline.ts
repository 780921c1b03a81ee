import type { Pipeline } from "./run-pipeline.js";
import { docsStep } from "./steps/docs/docs.js";

/**
 * The merge pipeline: build the Sphinx docs. The docs step installs the
 * docs' own requirements (docs/requirements.txt or docs.install) itself.
 */
export const DOCS_PIPELINE: Pipeline = [[docsStep]];
