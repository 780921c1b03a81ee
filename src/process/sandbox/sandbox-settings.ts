import { readdirSync } from "node:fs";
import { resolve } from "node:path";
import type { BuildLimits } from "../limits/build-limits.js";
import type { UidRange } from "./uid-range.js";
import type { SandboxSettings } from "./resolve-sandbox.js";
import { secretFiles } from "../../secrets/known-secrets.js";

/** The parts of pyci's Config the sandbox needs (the pipeline does not import the Config). */
export interface SandboxConfig {
  sandbox: SandboxSettings["mode"];
  sandboxUids: UidRange;
  buildLimits: BuildLimits;
  dataDir: string;
  sshKeyPath?: string;
}

/**
 * The server's sandbox settings: CI_SANDBOX and CI_SANDBOX_UIDS, and what the
 * code under test must never see: the App's private key file, the SSH key,
 * the data dir (pyci.db, logs), the files secrets are read from (`*_FILE`:
 * CI_GITHUB_TOKEN_FILE), the `.env` that may hold them all, and every
 * `*.pem` in the working directory — where Probot finds the App's key when
 * neither PRIVATE_KEY nor PRIVATE_KEY_PATH is set (any other one there is
 * most likely a key too), as it is at each call. Paths are absolute.
 */
export function sandboxSettings(
  config: SandboxConfig,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): SandboxSettings {
  const hidden = [
    config.dataDir,
    config.sshKeyPath,
    env.PRIVATE_KEY_PATH,
    ...secretFiles(env),
    resolve(cwd, ".env"),
    ...pemFiles(cwd),
  ]
    .filter((path): path is string => !!path)
    .map((path) => resolve(cwd, path));
  return { mode: config.sandbox, uids: config.sandboxUids, limits: config.buildLimits, hidden: [...new Set(hidden)] };
}

/** The `*.pem` names in `dir`, as @probot/get-private-key lists them. */
function pemFiles(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => name.endsWith(".pem"));
  } catch {
    return [];
  }
}
