import { randomUUID } from "node:crypto";
import { request, type Agent } from "node:http";
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
  o: { repo: string; dir: string; number: number; sha: string; action?: string; merged?: boolean; installationId?: number },
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
  const res = await sendWebhook({ url, secret, event: d.event, rawBody: d.body, signature: d.signature, deliveryId: d.deliveryId });
  const ms = performance.now() - started;
  return { status: res.status, ms };
}

/** A signed `check_run.rerequested` delivery (GitHub's "Re-run" button) for the check run `name` at `sha`. */
export function rerunDelivery(h: Harness, o: { repo: string; dir: string; sha: string; name: string }): Promise<Delivery> {
  const definitions = require("@octokit/webhooks-examples") as { name: string; examples: Record<string, any>[] }[];
  const example = definitions.find((d) => d.name === "check_run")!.examples.find((e) => e.action === "rerequested" && e.installation)!;
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
  Object.assign(payload, { repository, installation: { id: INSTALLATION_ID, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNzc=" } });
  return signedDelivery(h.secret, "check_run", payload);
}

/**
 * The same POST as postDelivery, the same headers, through node:http with a keep-alive agent. For the
 * acknowledgement figure: with 50 requests at once, fetch's own per-request cost on the client (tens of
 * milliseconds on a busy 2-core machine) hides the server's, and a 5 ms target could not be seen.
 */
export function postDeliveryLight(agent: Agent, url: string, d: Delivery): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(d.body),
          "user-agent": "GitHub-Hookshot/bench",
          "x-github-hook-id": "1",
          "x-github-hook-installation-target-type": "integration",
          "x-github-hook-installation-target-id": "1",
          "x-github-event": d.event,
          "x-github-delivery": d.deliveryId,
          "x-hub-signature-256": d.signature,
        },
      },
      (res) => {
        res.resume();
        res.once("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
        res.once("error", reject);
      },
    );
    req.once("error", reject);
    req.end(d.body);
  });
}
