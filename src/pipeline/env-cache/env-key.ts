import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { packageFile } from "../../package-files.js";
import { sandboxEnv } from "../../process/sandbox/sandbox-env.js";
import { pythonEnvironment } from "../python-environment.js";
import type { StepContext } from "../types.js";

/** Bumped when how environments are made or keyed changes: older ones are then never reused. */
const FORMAT = 1;

let pyciVersion: string | undefined;

/**
 * The key of an environment: a hash of everything that defines it — the
 * repository, the interpreter (its path, version, implementation, its
 * distributions and the pip a venv of it gets), what the recipe says
 * (`defines`: the install commands as written), the repository's `env:`
 * (PIP_* variables change what pip does), the hash of the files the
 * installs read (stageInputs), and pyci's version. Undefined when the
 * interpreter cannot say what it is (then nothing is cached).
 */
export async function envKey(
  ctx: StepContext,
  scope: string,
  recipe: { name: string; defines: unknown },
  inputs: string,
): Promise<string | undefined> {
  const options = { cwd: ctx.scratchDir, env: sandboxEnv(ctx.scratchDir), timeoutMs: ctx.timeoutMs };
  const python = await pythonEnvironment(ctx.python, options, ctx);
  if (!python) return undefined;
  pyciVersion ??= (JSON.parse(readFileSync(packageFile("package.json"), "utf8")) as { version: string }).version;
  const material = JSON.stringify({
    format: FORMAT,
    pyci: pyciVersion,
    scope,
    name: recipe.name,
    interpreter: ctx.python,
    python,
    defines: recipe.defines,
    env: Object.entries(ctx.repoConfig.env ?? {}).sort(([a], [b]) => a.localeCompare(b)),
    inputs,
  });
  return createHash("sha256").update(material).digest("hex");
}
