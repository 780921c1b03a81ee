import type { Logger } from "probot";

interface SmeeClientLike {
  start(): Promise<unknown>;
  stop(): Promise<void>;
}
type SmeeClientClass = new (options: {
  source: string;
  target: string;
  logger: Pick<Logger, "info" | "error">;
}) => SmeeClientLike;

/**
 * A devDependency of pyci (`npm run dev` in a clone has it); an installed pyci
 * (`--omit=dev`) does not. Named through a constant so that a bundler leaves it out.
 */
const SMEE_CLIENT = "smee-client";

export interface WebhookProxyOptions {
  /** WEBHOOK_PROXY_URL: the smee.io channel. */
  url: string;
  /** The local webhook endpoint, `http://<address><WEBHOOK_PATH>`. */
  target: string;
  log: Logger;
  /** Loads smee-client; by default `import("smee-client")`. */
  load?: () => Promise<{ SmeeClient: SmeeClientClass }>;
}

/**
 * WEBHOOK_PROXY_URL (development): forwards the deliveries of a smee.io
 * channel to the local webhook endpoint, as Probot's server does. Never stops
 * the server: without smee-client, or when the channel cannot be reached, it
 * logs what to do and returns undefined; else the running client.
 */
export async function startWebhookProxy(options: WebhookProxyOptions): Promise<SmeeClientLike | undefined> {
  const load = options.load ?? (() => import(SMEE_CLIENT) as Promise<{ SmeeClient: SmeeClientClass }>);
  let SmeeClient: SmeeClientClass;
  try {
    ({ SmeeClient } = await load());
  } catch {
    options.log.warn(
      { target: options.target },
      "WEBHOOK_PROXY_URL is set but smee-client is not installed: it comes with pyci's development install (`npm install` then `npm run dev` in a clone of pyci). With an installed pyci, forward the channel yourself beside it (`npx smee-client --url $WEBHOOK_PROXY_URL --target <target>`), or unset WEBHOOK_PROXY_URL.",
    );
    return undefined;
  }
  const client = new SmeeClient({ source: options.url, target: options.target, logger: options.log });
  try {
    await client.start();
    return client;
  } catch (err) {
    options.log.error(
      { err, target: options.target },
      "could not connect to the WEBHOOK_PROXY_URL channel: deliveries sent to it do not reach pyci. Check the URL (https://smee.io/<channel>) and this machine's access to it, then restart pyci.",
    );
    await client.stop().catch(() => undefined);
    return undefined;
  }
}
