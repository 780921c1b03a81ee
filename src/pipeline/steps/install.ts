import { rm } from "node:fs/promises";
import { join } from "node:path";
import { exists } from "../../checkout/exists.js";
import { cachedEnvironment } from "../env-cache/cached-environment.js";
import { pipCommandArgs } from "../env-cache/pip-command-args.js";
import type { Step, StepContext, StepResult } from "../types.js";
import { makeVenv, REQUIREMENTS } from "./make-venv.js";

/**
 * Installs the repository's dependencies into a virtualenv: the commands
 * of `install:` in .github/pyci.yml if any, otherwise `pip install -r
 * requirements.txt`. Later steps run with the venv's python
 * (StepResult.python). Everything runs in the sandbox: pip runs the
 * repository's setup code.
 *
 * 1. The environment cache (env-cache/cached-environment.ts): when the
 *    install is pip installing requirement files alone, the venv of an
 *    earlier build with the same key, or one made now for later builds.
 * 2. Otherwise a fresh virtualenv in the scratch dir, outside the checkout.
 */
export const installStep: Step = {
  name: "install",

  async applies(ctx: StepContext): Promise<boolean> {
    return ctx.repoConfig.install.length > 0 || (await exists(join(ctx.dir, REQUIREMENTS)));
  },

  async run(ctx: StepContext): Promise<StepResult> {
    // 1. cached
    const commands = ctx.repoConfig.install;
    const cached = await cachedEnvironment(ctx, {
      step: "install",
      name: "venv",
      pipArgs: commands.length === 0 ? [{ args: ["-r", REQUIREMENTS] }] : commands.map(pipCommandArgs),
      defines: { commands },
      make: (place) => makeVenv(ctx, place),
    });
    if (cached) return cached;

    // 2. a fresh virtualenv
    const venv = join(ctx.scratchDir, "venv");
    await rm(venv, { recursive: true, force: true });
    return makeVenv(ctx, { venv, cwd: ctx.dir, scratchDir: ctx.scratchDir, sandbox: ctx.sandbox });
  },
};
