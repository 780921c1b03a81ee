import type { IncomingMessage } from "node:http";

/** GitHub caps webhook payloads at 25 MB; pyci refuses anything larger (25 MiB, to be lenient about units). */
export const WEBHOOK_BODY_CAP = 25 * 1024 * 1024;

export type LimitedBody =
  | { kind: "complete"; bytes: Buffer }
  /** The body is (or was declared to be) over the cap: the caller answers 413 and drops the connection. */
  | { kind: "too-large" }
  /** The client went away before the end of the body. */
  | { kind: "aborted" };

/**
 * The whole request body, or "too-large" as soon as it is known to pass
 * `maxBytes`: at once when Content-Length says so (nothing is read), or when
 * the bytes streamed so far (chunked bodies) pass it, without keeping more
 * than `maxBytes`. Reading stops there; the request is left paused.
 */
export function readLimitedBody(req: IncomingMessage, maxBytes: number): Promise<LimitedBody> {
  if (declaredLength(req) > maxBytes) return Promise.resolve({ kind: "too-large" });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: LimitedBody) => {
      req.off("data", onData).off("end", onEnd).off("error", onAborted).off("close", onAborted);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      chunks.length = 0;
      req.pause();
      finish({ kind: "too-large" });
    };
    const onEnd = () => finish({ kind: "complete", bytes: Buffer.concat(chunks, size) });
    const onAborted = () => finish({ kind: "aborted" });
    req.on("data", onData).on("end", onEnd).on("error", onAborted).on("close", onAborted);
  });
}

/** The request's Content-Length; 0 when absent (chunked), Infinity when it is not a number. */
export function declaredLength(req: IncomingMessage): number {
  const header = req.headers["content-length"];
  if (header === undefined) return 0;
  return /^\d+$/.test(header) ? Number(header) : Infinity;
}
