import { readFileSync } from "node:fs";

/** Names of variables whose values are secrets (AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN, DB_PASSWORD, …). */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE|CREDENTIAL|API_?KEY|ACCESS_KEY/i;
/** …but not where such a variable names a file (PRIVATE_KEY_PATH): the path is no secret. */
const LOCATION = /_(PATH|FILE|DIR)$/i;

/**
 * Values masked in every log pyci stores or shows, beyond the webhook secret
 * and the App's key: the server's own variables that look secret by name,
 * and the SSH key's lines (the code under test never sees either; this is
 * for what pyci's own steps print). Keys are masked line by line, as logs
 * are masked a line at a time.
 */
export function knownSecrets(env: NodeJS.ProcessEnv = process.env, sshKeyPath?: string): string[] {
  const values = Object.entries(env)
    .filter(
      ([name, value]) =>
        SECRET_NAME.test(name) && !LOCATION.test(name) && value !== undefined && value !== "development",
    )
    .flatMap(([, value]) => keyLines(value!).concat(value!.includes("\n") ? [] : [value!]));
  values.push(...redisSecrets(env.CI_REDIS_URL));
  if (sshKeyPath) {
    try {
      values.push(...keyLines(readFileSync(sshKeyPath, "utf8")));
    } catch {
      // config.ts reports an unreadable key
    }
  }
  return [...new Set(values.filter((value) => value.length >= 6))];
}

/** The files secrets are read from: every `<secret name>_FILE` (CI_GITHUB_TOKEN_FILE, WEBHOOK_SECRET_FILE, …). */
export function secretFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => /_FILE$/i.test(name) && SECRET_NAME.test(name.slice(0, -5)) && !!value?.trim())
    .map(([, value]) => value!.trim());
}

/** CI_REDIS_URL as a whole and its password alone (also as written in the URL, percent-encoded). */
function redisSecrets(url: string | undefined): string[] {
  if (!url?.trim()) return [];
  const values = [url.trim()];
  try {
    const password = new URL(url.trim()).password;
    if (password) values.push(password, decodeURIComponent(password));
  } catch {
    // config.ts reports a URL it cannot parse; the whole value is still masked
  }
  return values;
}

function keyLines(text: string): string[] {
  if (!text.includes("-----BEGIN")) return [];
  return text.split(/\\n|\n/).filter((line) => line.length >= 16 && !line.startsWith("-----"));
}
