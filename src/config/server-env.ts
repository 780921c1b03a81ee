import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { withSecretFiles } from "./secret-files.js";

/**
 * The environment the server runs with, as `pyci serve` reads it in `cwd`:
 * `env`, then `.env` over it (the file wins, as in Probot), then the secrets
 * that come from files (`*_FILE`). `pyci doctor` checks the same.
 */
export function serverEnv(cwd: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return withSecretFiles(withDotEnv(cwd, env));
}

/** `env` with `.env` in `cwd` over it, secrets from files not read: for commands that need no secret (`pyci backup`). */
export function withDotEnv(cwd: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const file = join(cwd, ".env");
  return { ...env, ...(existsSync(file) ? parseEnv(readFileSync(file, "utf8")) : {}) };
}
