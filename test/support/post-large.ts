import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";

export interface LargePostResult {
  status: number | undefined;
  /** Body bytes the client got onto the wire before the answer (or the reset) came. */
  sent: number;
  error?: string;
}

export interface LargePostOptions {
  /** Transfer-Encoding: chunked instead of a Content-Length. */
  chunked: boolean;
  /** Ask first (Expect: 100-continue) and send only once told to. */
  expectContinue?: boolean;
  /** Go away (destroy the connection) once this many bytes are on the wire, without waiting for an answer. */
  abortAfter?: number;
  /** Extra or overriding headers (the defaults are a webhook delivery's, with a wrong signature). */
  headers?: Record<string, string>;
}

/**
 * POSTs `total` bytes of blanks as a webhook delivery with a wrong signature, with Content-Length or
 * chunked, stopping as soon as an answer arrives (a server that buffers everything answers only at the
 * end). Never rejects: a reset before any answer is reported as `error` (its code).
 */
export function postLarge(url: string, total: number, options: LargePostOptions): Promise<LargePostResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "x-github-event": "pull_request",
      "x-github-delivery": randomUUID(),
      "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
      ...options.headers,
    };
    if (!options.chunked) headers["content-length"] = String(total);
    if (options.expectContinue) headers.expect = "100-continue";
    const req = httpRequest(url, { method: "POST", headers });
    let sent = 0;
    let status: number | undefined;
    let done = false;
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      resolve({ status, sent, ...(error ? { error } : {}) });
      req.destroy();
    };
    req.on("response", (res) => {
      status = res.statusCode;
      res.resume();
      res.on("end", () => finish());
      res.on("error", () => finish());
    });
    req.on("error", (error: NodeJS.ErrnoException) =>
      status === undefined ? setTimeout(() => finish(error.code), 200) : finish(),
    );
    const chunk = Buffer.alloc(256 * 1024, 0x20);
    const pump = () => {
      while (!done && status === undefined && sent < total) {
        if (options.abortAfter !== undefined && sent >= options.abortAfter) return finish("aborted by the client");
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      if (!done && status === undefined) req.end();
    };
    if (options.expectContinue) req.on("continue", pump);
    else pump();
  });
}
