import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "probot";
import type { BodyBudget } from "./body-budget.js";
import { readLimitedBody, type LimitedBody } from "./read-limited-body.js";
import { refuseTooLarge } from "./refuse-too-large.js";
import { refuseUnread } from "./refuse-unread.js";
import { verifySignature } from "./verify-signature.js";

/** A delivery whose signature was checked, for the app's event handlers. */
export interface VerifiedDelivery {
  id: string;
  name: string;
  payload: Record<string, unknown>;
}

export interface WebhookRouteOptions {
  /** WEBHOOK_PATH. */
  path: string;
  /** WEBHOOK_SECRET. */
  secret: string;
  /** Runs the app's handlers (AppControl.receive); rejects when one throws. */
  receive(delivery: VerifiedDelivery): Promise<void>;
  log: Logger;
  maxBodyBytes: number;
  /** The bytes of unverified bodies held at once, by every connection (CI_WEBHOOK_BUFFER); a body that does not fit gets 503. */
  budget: BodyBudget;
  /** A body must have arrived this long after its headers, else 408. Default 10 s: GitHub gives up after 10 s. */
  bodyTimeoutMs?: number;
  /** True once the server is shutting down: deliveries get 503 (GitHub shows them failed; redeliver later). */
  closing(): boolean;
  /** Handlers still running after this get a 202 (GitHub gives up after 10 s). Default 9 s, as Probot. */
  timeoutMs?: number;
}

const JSON_CONTENT_TYPE = /^\s*application\/json\s*(?:;|$)/i;
/** GitHub's event names (`pull_request`, `check_run`); nothing that could name an Object.prototype member. */
const EVENT_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** GitHub sends a GUID; anything printable and short enough to log and store is taken. */
const DELIVERY_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The webhook endpoint, in place of Probot's middleware, answering as it does
 * (415, 400, 200 "ok", 202 "still processing") with these differences:
 * 1. bodies over `maxBodyBytes` get 413 before they are read whole (GitHub's
 *    cap is 25 MB); a body refused unread is never kept (see refuseUnread);
 * 2. a refused delivery is logged with its delivery id, event and reason only,
 *    never its (unverified) payload;
 * 3. a signed body that is not a JSON object, a malformed installation id,
 *    event name or delivery id, is a 400, not an exception in Probot;
 * 4. while the server shuts down, deliveries get 503;
 * 5. memory before the signature check is bounded: a body is read only into
 *    room held in `budget`, released once the signature is checked (or the
 *    body refused, or the client gone); one that does not fit gets 503 with
 *    Retry-After (before a byte is read when its length is declared), one that
 *    has not arrived within `bodyTimeoutMs` gets 408.
 */
export function webhookRoute(options: WebhookRouteOptions) {
  const path = withoutTrailingSlashes(options.path);
  const timeoutMs = options.timeoutMs ?? 9_000;
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (withoutTrailingSlashes((req.url ?? "").split("?")[0]!) !== path) return false;
    const event = header(req, "x-github-event");
    const id = header(req, "x-github-delivery");
    let bodyRead = false;
    const refuse = (status: number, reason: string, headers: Record<string, string> = {}, details: object = {}) => {
      options.log.warn(
        { deliveryId: id?.slice(0, 128), event: event?.slice(0, 64), status, reason, ...details },
        "webhook delivery refused",
      );
      if (bodyRead) sendJson(res, status, { error: reason });
      else refuseUnread(res, status, { error: reason }, headers);
      return true;
    };

    // 1. what can be refused from the request line and headers alone
    if (options.closing()) {
      return refuse(
        503,
        "pyci is shutting down; redeliver this delivery from the GitHub App's advanced settings once it is back",
      );
    }
    if (req.method !== "POST") {
      sendJson(res, 404, { error: `Unknown route: ${req.method} ${path}` });
      return true;
    }
    if (!JSON_CONTENT_TYPE.test(header(req, "content-type") ?? "")) {
      return refuse(415, 'Unsupported "Content-Type" header value. Must be "application/json"');
    }
    const signature = header(req, "x-hub-signature-256");
    const missing = [
      ["x-github-event", event],
      ["x-hub-signature-256", signature],
      ["x-github-delivery", id],
    ].filter(([, v]) => v === undefined);
    if (missing.length > 0) return refuse(400, `Required headers missing: ${missing.map(([name]) => name).join(", ")}`);
    if (!EVENT_NAME.test(event!)) return refuse(400, "X-GitHub-Event is not an event name");
    if (!DELIVERY_ID.test(id!)) return refuse(400, "X-GitHub-Delivery is not a delivery id");

    // 2. the body, up to the cap, in room held among the unverified bodies, and whether it is signed with
    //    the webhook secret: the room is given back on every path, once nothing unverified is left
    const hold = options.budget.hold();
    let body: LimitedBody;
    let signed: boolean;
    try {
      const beforeRead = expectsContinue(req) ? () => res.writeContinue() : undefined;
      body = await readLimitedBody(req, {
        maxBytes: options.maxBodyBytes,
        hold,
        deadlineMs: bodyTimeoutMs,
        beforeRead,
      });
      signed = body.kind === "complete" && verifySignature(options.secret, body.bytes, signature);
    } finally {
      hold.release();
    }

    // 3. refused unless complete, signed, and a JSON object
    bodyRead = body.kind === "complete";
    if (body.kind === "aborted") return true;
    if (body.kind === "too-large") {
      options.log.warn(
        { deliveryId: id, event, status: 413, limit: options.maxBodyBytes },
        "webhook delivery refused: body over the size limit",
      );
      refuseTooLarge(res, options.maxBodyBytes);
      return true;
    }
    if (body.kind === "over-budget") {
      const reason =
        "pyci holds as many unverified webhook bodies as CI_WEBHOOK_BUFFER allows; retry later, or redeliver this delivery from the GitHub App's advanced settings";
      return refuse(503, reason, { "retry-after": "10" }, { held: options.budget.held, limit: options.budget.limit });
    }
    if (body.kind === "timed-out") return refuse(408, `the body did not arrive within ${bodyTimeoutMs} ms`);
    if (!signed) {
      return refuse(
        400,
        "signature does not match event payload and secret (is WEBHOOK_SECRET the App's webhook secret?)",
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.bytes.toString("utf8"));
    } catch {
      return refuse(400, "Invalid JSON");
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload))
      return refuse(400, "payload is not a JSON object");
    // Probot authenticates as `installation.id` before any handler runs, and throws on a malformed one
    if (!installationIdIsValid(payload)) return refuse(400, "payload.installation.id is not an installation id");

    // 4. the app's handlers (they enqueue and return); 202 when they take too long
    options.log.debug({ deliveryId: id, event }, "webhook delivery received");
    return answerWhenHandled(
      res,
      options.receive({ id: id!, name: event!, payload: payload as Record<string, unknown> }),
      timeoutMs,
    );
  };
}

async function answerWhenHandled(res: ServerResponse, handled: Promise<void>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)));
  // a handler's error is logged by the app (with the delivery id)
  const outcome = await Promise.race([
    handled.then(
      () => "ok" as const,
      () => "failed" as const,
    ),
    late,
  ]);
  clearTimeout(timer);
  if (outcome === "ok") sendText(res, 200, "ok\n");
  else if (outcome === "late") sendText(res, 202, "still processing\n");
  else sendJson(res, 500, { error: "a handler failed; see the server's log for this delivery id" });
  return true;
}

/** Absent, or a positive integer. */
function installationIdIsValid(payload: object): boolean {
  const installation = (payload as { installation?: unknown }).installation;
  if (typeof installation !== "object" || installation === null) return true;
  const id = (installation as { id?: unknown }).id;
  return id === undefined || id === null || (Number.isSafeInteger(id) && (id as number) > 0);
}

function expectsContinue(req: IncomingMessage): boolean {
  return /^\s*100-continue\s*$/i.test(header(req, "expect") ?? "");
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

function withoutTrailingSlashes(path: string): string {
  return path.replace(/\/+$/, "") || "/";
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) }).end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) }).end(text);
}
