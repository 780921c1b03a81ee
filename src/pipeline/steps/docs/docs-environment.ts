import { rm } from "node:fs/promises";
import { join } from "node:path";
import { cachedEnvironment } from "../../env-cache/cached-environment.js";
import { pipCommandArgs } from "../../env-cache/pip-command-args.js";
import type { StepContext, StepResult } from "../../types.js";
import type { Sandbox } from "../../../process/sandbox/sandbox.js";
import type { DocsRequirements } from "./docs-requirements.js";
import { makeDocsVenv } from "./docs-venv.js";
import type { Sphinx } from "./find-sphinx.js";

/** Where the docs' virtualenv is: /pyci/docs-venv when cached, <scratchDir>/docs-venv otherwise. */
export const DOCS_VENV = "docs-venv";

/**
 * The docs' virtualenv (docs-venv.ts) on top of `sphinx`, made in
 * `sandbox` (the build's, showing Sphinx's interpreter), before `deadline`.
 * A success names its python, and its `mount` when it is a cached one.
 *
 * 1. The environment cache, as the install step uses it
 *    (env-cache/cached-environment.ts): made from Sphinx's interpreter,
 *    keyed by it too, and by the requirements and what Sphinx brings.
 * 2. Otherwise a fresh virtualenv in the scratch dir.
 */
export async function docsEnvironment(
  ctx: StepContext,
  sphinx: Sphinx,
  requirements: DocsRequirements,
  sandbox: Sandbox,
  deadline: number,
): Promise<StepResult> {
  const options = {
    sphinx,
    requirements,
    timeoutMs: ctx.timeoutMs,
    deadline,
    log: ctx.log,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  };

  // 1. cached
  const cached = await cachedEnvironment(
    { ...ctx, python: sphinx.python, sandbox },
    {
      step: "docs",
      name: DOCS_VENV,
      pipArgs:
        "commands" in requirements
          ? requirements.commands.map(pipCommandArgs)
          : [{ args: ["-r", requirements.requirementsFile] }],
      defines: {
        requirements,
        systemSitePackages: true,
        sphinx: { version: sphinx.version, inVirtualenv: sphinx.inVirtualenv, sitePackages: sphinx.sitePackages },
      },
      make: (place) => makeDocsVenv(options, place),
    },
  );
  if (cached) return cached;

  // 2. a fresh virtualenv
  const venv = join(ctx.scratchDir, DOCS_VENV);
  await rm(venv, { recursive: true, force: true });
  return makeDocsVenv(options, { venv, cwd: ctx.dir, scratchDir: ctx.scratchDir, sandbox });
}
