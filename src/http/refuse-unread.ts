import type { ServerResponse } from "node:http";

/** How long, and how much, a client may go on sending a refused body: enough for it to stop and read the answer. */
const LINGER_MS = 1_000;
const LINGER_BYTES = 16 * 1024 * 1024;

/**
 * Answers a request whose body was not read (413, 415, 503…), with `headers`
 * besides its own, and closes the connection. The answer goes out at once;
 * what the client still sends is discarded, never kept, until the body ends
 * (then the connection closes cleanly) or for at most LINGER_MS / LINGER_BYTES
 * (then it is destroyed). Closing at once would reset the connection while the
 * client writes, and most clients then report the reset instead of the answer.
 */
export function refuseUnread(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const req = res.req;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    connection: "close",
  });
  if (req.complete) {
    res.end(text);
    return;
  }
  res.write(text);
  let discarded = 0;
  const stop = (destroy: boolean) => {
    clearTimeout(timer);
    req.off("data", onData).off("end", onEnd).off("close", onEnd);
    res.end();
    if (destroy) req.socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    discarded += chunk.length;
    if (discarded > LINGER_BYTES) stop(true);
  };
  const onEnd = () => stop(false);
  const timer = setTimeout(() => stop(true), LINGER_MS);
  timer.unref();
  req.on("data", onData).once("end", onEnd).once("close", onEnd);
  req.resume();
}
