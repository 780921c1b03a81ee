import { getPrivateKey } from "@probot/get-private-key";

/** What Probot's run() reads from the environment, read the same way. */
export interface ServerOptions {
  /** APP_ID; NaN when unset. */
  appId: number;
  /** PRIVATE_KEY (PEM, base64, or with `\n` escapes), PRIVATE_KEY_PATH, or the one `.pem` file in the working directory. */
  privateKey: string | undefined;
  /** WEBHOOK_SECRET; Probot's default "development" when unset. */
  secret: string;
  /** HOST (default localhost) and PORT (default 3000). */
  host: string;
  port: number;
  /** WEBHOOK_PATH (default /api/github/webhooks). */
  webhookPath: string;
  /** WEBHOOK_PROXY_URL: a smee.io channel for local development. */
  webhookProxy: string | undefined;
  /** `<GHE_PROTOCOL>://<GHE_HOST>/api/v3`, or https://api.github.com. */
  baseUrl: string;
  /** REDIS_URL, for Probot's throttling across processes. */
  redisConfig: string | undefined;
  /**
   * CI_GITHUB_TOKEN (or CI_GITHUB_TOKEN_FILE, see withSecretFiles): without an App, the token of a
   * repository webhook's builds (a fine-grained personal access token: statuses and contents).
   */
  githubToken: string | undefined;
}

/** Throws with Probot's own message when PRIVATE_KEY cannot be read as a key. */
export function serverOptions(env: NodeJS.ProcessEnv = process.env): ServerOptions {
  const privateKey = getPrivateKey({ env });
  return {
    appId: Number(env.APP_ID),
    privateKey: privateKey ? String(privateKey) : undefined,
    secret: env.WEBHOOK_SECRET || "development",
    host: env.HOST || "localhost",
    port: Number(env.PORT) || 3000,
    webhookPath: env.WEBHOOK_PATH || "/api/github/webhooks",
    webhookProxy: env.WEBHOOK_PROXY_URL || undefined,
    baseUrl: env.GHE_HOST ? `${env.GHE_PROTOCOL || "https"}://${env.GHE_HOST}/api/v3` : "https://api.github.com",
    redisConfig: env.REDIS_URL || undefined,
    githubToken: env.CI_GITHUB_TOKEN?.trim() || undefined,
  };
}
