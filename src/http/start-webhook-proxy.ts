import type { Logger } from "probot";

interface SmeeClientLike {
  start(): unknown;
}
type SmeeClientClass = new (options: { source: string; target: string; logger: Logger }) => SmeeClientLike;

/** The package Probot fetches for WEBHOOK_PROXY_URL; pyci uses it when installed (development only). */
const SMEE_CLIENT = "smee-client";

/**
 * WEBHOOK_PROXY_URL (development): forwards the deliveries of a smee.io
 * channel to the local webhook endpoint, as Probot's server does.
 */
export async function startWebhookProxy(options: { url: string; target: string; log: Logger }): Promise<void> {
  let SmeeClient: SmeeClientClass;
  try {
    ({ SmeeClient } = (await import(SMEE_CLIENT)) as { SmeeClient: SmeeClientClass });
  } catch {
    options.log.warn(
      "WEBHOOK_PROXY_URL is set but smee-client is not installed: run `npm install --save-dev smee-client` to proxy webhooks to localhost.",
    );
    return;
  }
  await new SmeeClient({ source: options.url, target: options.target, logger: options.log }).start();
}
