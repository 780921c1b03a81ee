import { randomUUID } from "node:crypto";
import { mkdir, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileLock } from "../../checkout/file-lock.js";
import { READERS } from "../../checkout/mirror-files.js";
import { chownTree } from "../../process/sandbox/chown-tree.js";
import { BUILD_MOUNTS, insideBuild } from "../../process/sandbox/inside-build.js";
import type { Sandbox, SandboxMount } from "../../process/sandbox/sandbox.js";
import type { EnvCache, StepContext, StepResult } from "../types.js";
import { ENV_JSON, ENVS, envLockPath } from "./env-files.js";
import { envKey } from "./env-key.js";
import { installInputs, type InstallInput } from "./install-inputs.js";
import { stageInputs } from "./stage-inputs.js";

/** Where a virtualenv is made and filled, as the sandbox shows it. */
export interface VenvPlace {
  venv: string;
  /** The install commands' working directory. */
  cwd: string;
  /** The parent of HOME and TMPDIR. */
  scratchDir: string;
  sandbox: Sandbox;
}

export interface EnvRecipe {
  /** The step it is made for, which names its results: "install", "docs". */
  step: string;
  /** Its directory under /pyci, where every build sees it: "venv", "docs-venv". */
  name: string;
  /** Each install as pip install arguments, or why it is not one (another command, shell syntax). */
  pipArgs: ({ args: string[] } | { problem: string })[];
  /** Everything else that defines it, for the key: the install commands as written, venv options. */
  defines: unknown;
  /** Makes the environment at `place`; a success names its python. */
  make(place: VenvPlace): Promise<StepResult>;
}

/**
 * The environment a recipe makes from the interpreter ctx.python, in
 * ctx.sandbox (a step whose venv is made from another interpreter, the
 * docs step's Sphinx, passes that interpreter and a sandbox showing it),
 * from the build's environment cache (ctx.envCache, CI_ENV_CACHE), or
 * undefined when the build makes its own (the log says why: no cache, not
 * the bwrap sandbox, an interpreter of the build's own, an install that is
 * not requirement files alone, a fork's build and nothing cached):
 *
 * 1. what the installs read is copied out of the checkout, and hashed
 *    into the key (env-key.ts);
 * 2. under the key's lock (two builds of one key make it once), an
 *    environment made earlier is lent: a success whose `mount` shows it,
 *    read-only, at /pyci/<name>, where it was made;
 * 3. otherwise (never for a fork's build) it is made now, at that path, in
 *    the build's sandbox without the checkout — it sees only the copied
 *    files, so nothing but the key shapes it — then taken back from the
 *    build's uid and kept. A recipe that fails is the step's result.
 */
export async function cachedEnvironment(ctx: StepContext, recipe: EnvRecipe): Promise<StepResult | undefined> {
  const cache = ctx.envCache;
  if (!cache) return undefined;
  const uncached = (why: string) => {
    ctx.log.write(`pyci: environment not cached: ${why}\n`);
    return undefined;
  };
  if (ctx.sandbox.kind !== "bwrap") return uncached("it needs the bwrap sandbox (CI_SANDBOX)");
  if (insideBuild(ctx.python, ctx)) return uncached(`${ctx.python} is the build's own interpreter`);
  const started = performance.now();
  const inputs: InstallInput[] = [];
  for (const pip of recipe.pipArgs) {
    const read = "args" in pip ? installInputs(pip.args) : pip;
    if ("problem" in read) return uncached(`pyci caches only pip installs of requirement files, and ${read.problem}`);
    inputs.push(...read.inputs);
  }
  const envs = join(cache.dir, ENVS);
  await mkdir(envs, { recursive: true, mode: 0o700 });
  const fill = join(envs, `.fill-${randomUUID()}`);
  try {
    // 1. the key
    await mkdir(join(fill, "src"), { recursive: true });
    const staged = await stageInputs(ctx.dir, inputs, join(fill, "src"));
    if ("problem" in staged) return uncached(staged.problem);
    const key = await envKey(ctx, cache.scope, recipe, staged.hash);
    if (!key) return uncached(`${ctx.python} did not say what it is`);
    const short = key.slice(0, 12);

    // 2. lent, or 3. made, one build of a key at a time
    const release = await fileLock(envLockPath(envs, key), {
      timeoutMs: ctx.timeoutMs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      onWait: () => ctx.log.write(`pyci: waiting for another build making the same environment (key ${short})\n`),
    });
    try {
      const env = join(envs, key);
      const mount: SandboxMount = { source: join(env, "venv"), target: `${BUILD_MOUNTS}/${recipe.name}` };
      const python = `${mount.target}/bin/python`;
      if (await lend(env, ctx.scratchDir)) {
        ctx.log.write(`pyci: environment reused (key ${short})\n`);
        const durationMs = Math.round(performance.now() - started);
        const summary = "Reused the virtualenv of an earlier build with the same requirements";
        return { name: recipe.step, state: "success", summary, exitCode: 0, durationMs, python, mount };
      }
      if (!cache.fill) return uncached(`a build of a fork's pull request uses cached environments, never adds one`);
      ctx.log.write(`pyci: making the environment for the cache (key ${short}), apart from the checkout\n`);
      const made = await make(ctx, recipe, fill, mount);
      if (made.state !== "success") return made;
      await keep(fill, env, cache, recipe);
      await lend(env, ctx.scratchDir);
      ctx.log.write(`pyci: environment cached (key ${short})\n`);
      return { ...made, python, mount, durationMs: Math.round(performance.now() - started) };
    } finally {
      await release();
    }
  } finally {
    await rm(fill, { recursive: true, force: true });
  }
}

/** Runs the recipe in `fill` (src/ the copied inputs, venv/ at /pyci/<name>), as the build's uid, without the checkout. */
async function make(ctx: StepContext, recipe: EnvRecipe, fill: string, mount: SandboxMount): Promise<StepResult> {
  const [src, scratch, venv] = ["src", "scratch", "venv"].map((dir) => join(fill, dir)) as [string, string, string];
  await Promise.all([venv, join(scratch, "home"), join(scratch, "tmp")].map((dir) => mkdir(dir, { recursive: true })));
  const user = ctx.sandbox.user;
  if (user) await chownTree(fill, user.uid, user.gid);
  const dataDir = ctx.envCache!.dir;
  const sandbox: Sandbox = {
    ...ctx.sandbox,
    // the interpreter and pyci's helpers, never the checkout's borrowed objects (in CI_DATA_DIR)
    readable: ctx.sandbox.readable.filter((dir) => dir !== dataDir && !dir.startsWith(`${dataDir}/`)),
    writable: [src, scratch],
    mounts: [...(ctx.sandbox.mounts ?? []), { source: venv, target: mount.target, writable: true }],
  };
  const result = await recipe.make({ venv: mount.target, cwd: src, scratchDir: scratch, sandbox });
  // the build's processes of it are gone (the sandbox's pid namespace ends with its command)
  if (user) await chownTree(fill, process.getuid?.() ?? 0, process.getgid?.() ?? 0);
  return result;
}

/** Moves a made environment into place under its key: its env.json is written last. */
async function keep(fill: string, env: string, cache: EnvCache, recipe: EnvRecipe): Promise<void> {
  await Promise.all(["src", "scratch"].map((dir) => rm(join(fill, dir), { recursive: true, force: true })));
  await rm(env, { recursive: true, force: true });
  await mkdir(join(fill, READERS));
  const description = {
    name: recipe.name,
    scope: cache.scope,
    defines: recipe.defines,
    made: new Date().toISOString(),
  };
  await writeFile(join(fill, ENV_JSON), `${JSON.stringify(description, null, 2)}\n`);
  await rename(fill, env);
}

/**
 * Lends a kept environment to the build whose scratch dir is `scratchDir`
 * (the eviction skips it while that build runs), or false when there is none.
 */
async function lend(env: string, scratchDir: string): Promise<boolean> {
  const info = await stat(join(env, ENV_JSON)).catch(() => undefined);
  if (!info?.isFile()) return false;
  await mkdir(join(env, READERS), { recursive: true });
  await writeFile(join(env, READERS, randomUUID()), JSON.stringify({ pid: process.pid, checkout: scratchDir }));
  const now = new Date();
  await utimes(join(env, ENV_JSON), now, now).catch(() => undefined);
  return true;
}
