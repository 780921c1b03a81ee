import { stat } from "node:fs/promises";
import { join } from "node:path";

/*
 * The environment cache as files, what both cached-environment.ts (which
 * makes and lends environments) and the eviction (evict-caches.ts) read:
 * CI_DATA_DIR/envs/<key>/{venv/, env.json, pyci-readers/}, a lock beside
 * each, and half-made ones under names starting with ".".
 */

/** The folder of CI_DATA_DIR that holds the environments. */
export const ENVS = "envs";
/** In an environment: what it is, written last (an environment without it is not one); touched on each use. */
export const ENV_JSON = "env.json";

/** An environment's directory name is its key. */
export function isEnvName(name: string): boolean {
  return /^[0-9a-f]{64}$/.test(name);
}

/** The lock of one key, held while it is made, lent or evicted (a "." name: the eviction's leftover sweep skips live ones). */
export function envLockPath(envs: string, key: string): string {
  return join(envs, `.${key}.lock`);
}

/** When an environment was last used (for eviction). */
export async function envLastUsed(env: string): Promise<number> {
  const marker = await stat(join(env, ENV_JSON)).catch(() => undefined);
  return marker?.mtimeMs ?? (await stat(env)).mtimeMs;
}
