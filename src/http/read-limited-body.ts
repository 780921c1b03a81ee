import type { IncomingMessage } from "node:http";
import type { BodyHold } from "./body-budget.js";

/** GitHub caps webhook payloads at 25 MB; pyci refuses anything larger (25 MiB, to be lenient about units). */
export const WEBHOOK_BODY_CAP = 25 * 1024 * 1024;

export type LimitedBody =
  | { kind: "complete"; bytes: Buffer }
  /** The body is (or was declared to be) over the cap: the caller answers 413 and drops the connection. */
  | { kind: "too-large" }
  /** The body does not fit in what the hold's budget has left: the caller answers 503 and drops the connection. */
  | { kind: "over-budget" }
  /** The body did not end within the deadline: the caller answers 408 and drops the connection. */
  | { kind: "timed-out" }
  /** The client went away before the end of the body. */
  | { kind: "aborted" };

export interface ReadLimitedBodyOptions {
  maxBytes: number;
  /**
   * Grown before the body's memory is allocated; its budget decides whether the body fits. Never
   * released here: the caller releases it once the body is verified or refused (also on failures).
   */
  hold: BodyHold;
  /** The whole body must have arrived this long after the call. */
  deadlineMs: number;
  /** Called once the body's declared length is held, before any of it is read: the cue to send 100 Continue. */
  beforeRead?(): void;
}

/** A chunked body starts in a buffer this large, doubled as it grows. */
const FIRST_CHUNKED_BYTES = 64 * 1024;

/**
 * The whole request body, in one buffer whose bytes are held in `hold` before they are allocated:
 * - "too-large" as soon as the body is known to pass `maxBytes`: at once when Content-Length says
 *   so, or when the bytes streamed so far (chunked bodies) pass it;
 * - "over-budget" when the hold cannot grow: at once (nothing read) for a declared length, else as
 *   the chunked body's buffer has to grow (each growth holds the old and the new buffer, both exist
 *   while copying);
 * - "timed-out" after `deadlineMs`, "aborted" when the client goes away.
 * Nothing beyond the one buffer is kept. Reading stops at the result; an unfinished request is left paused.
 */
export function readLimitedBody(req: IncomingMessage, options: ReadLimitedBodyOptions): Promise<LimitedBody> {
  const declared = declaredLength(req);
  if (declared > options.maxBytes) return Promise.resolve({ kind: "too-large" });
  if (!options.hold.resize(declared)) return Promise.resolve({ kind: "over-budget" });
  options.beforeRead?.();
  return new Promise((resolve) => {
    let buffer = Buffer.allocUnsafe(declared);
    let size = 0;
    const finish = (result: LimitedBody) => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("error", onAborted).off("close", onAborted);
      if (result.kind !== "complete" && result.kind !== "aborted") req.pause();
      resolve(result);
    };
    const grow = (needed: number): boolean => {
      const capacity = Math.min(options.maxBytes, Math.max(needed, buffer.length * 2, FIRST_CHUNKED_BYTES));
      if (!options.hold.resize(buffer.length + capacity)) return false;
      const grown = Buffer.allocUnsafe(capacity);
      buffer.copy(grown, 0, 0, size);
      buffer = grown;
      options.hold.resize(capacity);
      return true;
    };
    const onData = (chunk: Buffer) => {
      const needed = size + chunk.length;
      if (needed > options.maxBytes) return finish({ kind: "too-large" });
      if (needed > buffer.length && !grow(needed)) return finish({ kind: "over-budget" });
      chunk.copy(buffer, size);
      size = needed;
    };
    const onEnd = () => finish({ kind: "complete", bytes: buffer.subarray(0, size) });
    const onAborted = () => finish({ kind: "aborted" });
    const timer = setTimeout(() => finish({ kind: "timed-out" }), options.deadlineMs);
    timer.unref();
    req.on("data", onData).on("end", onEnd).on("error", onAborted).on("close", onAborted);
  });
}

/** The request's Content-Length; 0 when absent (chunked), Infinity when it is not a number. */
export function declaredLength(req: IncomingMessage): number {
  const header = req.headers["content-length"];
  if (header === undefined) return 0;
  return /^\d+$/.test(header) ? Number(header) : Infinity;
}
