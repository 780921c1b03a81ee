import { randomUUID } from "node:crypto";
import { createRequire } from "node:module";
import { sign } from "@octokit/webhooks-methods";
import { pullRequestPayload } from "../test/support/payloads.js";
import { sendWebhook } from "../test/support/webhook.js";
import { INSTALLATION_ID, OWNER, type Harness } from "./harness.js";

const require = createRequire(import.meta.url);

/** A webhook delivery serialized and signed ahead of time, so that timing it measures the request alone. */
export interface Delivery {
  event: string;
  deliveryId: string;
  body: string;
  signature: string;
}

export async function signedDelivery(secret: string, event: string, payload: unknown): Promise<Delivery> {
  const body = JSON.stringify(payload);
  return { event, deliveryId: randomUUID(), body, signature: await sign(secret, body) };
}

/** A signed `pull_request` delivery (synchronize unless said otherwise) for acme/<repo> at `sha`, cloned from `dir` over the harness's sshd. */
export function pullRequestDelivery(
  h: Harness,
  o: {
    repo: string;
    dir: string;
    number: number;
    sha: string;
    action?: string;
    merged?: boolean;
    installationId?: number;
  },
): Promise<Delivery> {
  const payload = pullRequestPayload({
    action: o.action ?? "synchronize",
    owner: OWNER,
    repo: o.repo,
    number: o.number,
    headSha: o.merged ? "1".repeat(40) : o.sha,
    ...(o.merged ? { merged: true, mergeCommitSha: o.sha } : {}),
    sshUrl: h.sshd.sshUrl(o.dir),
    cloneUrl: "http://127.0.0.1:9/unused.git",
    installationId: o.installationId ?? INSTALLATION_ID,
    title: `Benchmark change ${o.number}`,
  });
  return signedDelivery(h.secret, "pull_request", payload);
}

/** POSTs a prepared delivery (test/support/webhook.ts: Node's fetch, keep-alive); `ms` is request → whole response. */
export async function postDelivery(url: string, secret: string, d: Delivery): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await sendWebhook({
    url,
    secret,
    event: d.event,
    rawBody: d.body,
    signature: d.signature,
    deliveryId: d.deliveryId,
  });
  const ms = performance.now() - started;
  return { status: res.status, ms };
}

/** A signed `check_run.rerequested` delivery (GitHub's "Re-run" button) for the check run `name` at `sha`. */
export function rerunDelivery(
  h: Harness,
  o: { repo: string; dir: string; sha: string; name: string },
): Promise<Delivery> {
  const definitions = require("@octokit/webhooks-examples") as { name: string; examples: Record<string, any>[] }[];
  const example = definitions
    .find((d) => d.name === "check_run")!
    .examples.find((e) => e.action === "rerequested" && e.installation)!;
  const { repository } = pullRequestPayload({
    action: "opened",
    owner: OWNER,
    repo: o.repo,
    number: 1,
    headSha: o.sha,
    sshUrl: h.sshd.sshUrl(o.dir),
    cloneUrl: "http://127.0.0.1:9/unused.git",
    installationId: INSTALLATION_ID,
  });
  const payload = structuredClone(example);
  Object.assign(payload.check_run, { name: o.name, head_sha: o.sha, pull_requests: [] });
  Object.assign(payload.check_run.check_suite, { head_sha: o.sha, pull_requests: [] });
  Object.assign(payload, {
    repository,
    installation: { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" },
  });
  return signedDelivery(h.secret, "check_run", payload);
}
