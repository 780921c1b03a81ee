import { readFileSync } from "node:fs";
import { ConfigError } from "../config.js";

/** The secrets that can come from a file: `<NAME>_FILE` names it (PRIVATE_KEY_PATH does this for the App's key). */
export const SECRET_FILE_NAMES = ["WEBHOOK_SECRET", "CI_ADMIN_TOKEN", "CI_GITHUB_TOKEN"] as const;

/**
 * `env` with each secret whose `<NAME>_FILE` is set read from that file (a
 * trailing newline dropped), for Docker/Kubernetes secrets and systemd
 * credentials. Throws a ConfigError naming every file that cannot be read,
 * and every secret set both ways.
 */
export function withSecretFiles(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const read: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of SECRET_FILE_NAMES) {
    const file = env[`${name}_FILE`]?.trim();
    if (!file) continue;
    if (env[name]) {
      problems.push(`Both ${name} and ${name}_FILE are set: keep one.`);
      continue;
    }
    try {
      read[name] = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    } catch (error) {
      problems.push(`${name}_FILE=${file} cannot be read: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...env, ...read };
}
