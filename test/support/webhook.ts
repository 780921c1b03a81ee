import { createHmac, randomUUID } from "node:crypto";
import { sign } from "@octokit/webhooks-methods";

export interface SendWebhookOptions {
  /** The full webhook URL, e.g. `http://127.0.0.1:3000/api/github/webhooks`. */
  url: string;
  secret: string;
  /** X-GitHub-Event; null leaves the header out. */
  event: string | null;
  /** Serialized with JSON.stringify unless rawBody is given. */
  payload?: unknown;
  /** X-GitHub-Delivery; a random UUID unless given; null leaves the header out. */
  deliveryId?: string | null;
  /** X-Hub-Signature-256: computed from the body with `secret` unless given; null leaves the header out. */
  signature?: string | null;
  /** Default application/json. */
  contentType?: string;
  /** Sent byte for byte instead of the serialized payload (and signed, unless signature is given). */
  rawBody?: string;
  /** Extra or overriding headers. */
  headers?: Record<string, string>;
}

export interface WebhookResponse {
  status: number;
  body: string;
  headers: Headers;
  /** The X-GitHub-Delivery that was sent (undefined when left out). */
  deliveryId: string | undefined;
}

/** Delivers a webhook the way GitHub does (headers, HMAC-SHA256 signature of the raw body). */
export async function sendWebhook(options: SendWebhookOptions): Promise<WebhookResponse> {
  const body = options.rawBody ?? JSON.stringify(options.payload ?? {});
  const deliveryId = options.deliveryId === null ? undefined : (options.deliveryId ?? randomUUID());
  const signature =
    options.signature === null ? undefined : (options.signature ?? (await signBody(options.secret, body)));
  const headers: Record<string, string> = {
    "content-type": options.contentType ?? "application/json",
    "user-agent": "GitHub-Hookshot/test",
    "x-github-hook-id": "1",
    "x-github-hook-installation-target-type": "integration",
    "x-github-hook-installation-target-id": "1",
  };
  if (options.event !== null) headers["x-github-event"] = options.event;
  if (deliveryId !== undefined) headers["x-github-delivery"] = deliveryId;
  if (signature !== undefined) headers["x-hub-signature-256"] = signature;
  Object.assign(headers, lowerKeys(options.headers ?? {}));

  const response = await fetch(options.url, { method: "POST", headers, body });
  return { status: response.status, body: await response.text(), headers: response.headers, deliveryId };
}

/** `sha256=<hex HMAC>` as GitHub computes it (sign() refuses an empty body, GitHub does not). */
async function signBody(secret: string, body: string): Promise<string> {
  if (body === "") return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
  return sign(secret, body);
}

function lowerKeys(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
