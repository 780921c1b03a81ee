import { connect, type Socket } from "node:net";
import type { Delivery } from "./deliver.js";

/** A batch to send at once, from the benchmark's process. */
export interface AckRequest {
  seq: number;
  url: string;
  deliveries: Delivery[];
}

/** The batch's answers, in the order of its deliveries; `ms` is request → whole response, timed here. */
export interface AckReply {
  seq: number;
  results: { status: number; ms: number }[];
}

/**
 * The acknowledgement figure's client, in a process of its own (started by measure-ack.ts with an IPC
 * channel): the benchmark's process also serves the fake GitHub API, whose answers to the server's
 * writes would otherwise run between a request and the reading of its response, and be timed with it.
 *
 * Each message is a batch of prepared (serialized, signed) deliveries. They are written as whole HTTP/1.1
 * requests, each on a keep-alive connection of its own (opened once, reused by later batches), all at once;
 * a request's time runs from its write to the last byte of its answer. Like a load generator (wrk), the
 * client does as little as it can per request: node:http's client cost ~0.2 ms of this process's CPU
 * per request, and with 50 at once on 2 cores that queue, not the server, set the tail of the baseline.
 */
function main(): void {
  if (!process.send) throw new Error("ack-client.ts runs as a child of measure-ack.ts, with an IPC channel");
  const idle = new Map<string, Socket[]>();
  process.on("message", (message: AckRequest) => {
    const url = new URL(message.url);
    const pool = idle.get(url.host) ?? [];
    idle.set(url.host, pool);
    const take = async () => {
      // one the server closed while idle is dropped
      for (let socket = pool.pop(); socket; socket = pool.pop()) if (socket.readyState === "open") return socket;
      return open(url);
    };
    void Promise.all(message.deliveries.map(take))
      .then((sockets) => {
        const requests = message.deliveries.map((d) => requestBytes(url, d));
        // all written before any answer is read: the server sees them at once
        return Promise.all(sockets.map((socket, k) => exchange(socket, requests[k]!))).then((results) => {
          pool.push(...sockets.filter((socket) => !socket.destroyed));
          return results;
        });
      })
      .then(
        (results) => process.send!({ seq: message.seq, results } satisfies AckReply),
        (error: unknown) => process.send!({ seq: message.seq, error: String(error) }),
      );
  });
  process.once("disconnect", () => {
    for (const pool of idle.values()) for (const socket of pool) socket.destroy();
    process.exit(0);
  });
  process.send({ ready: true });
}

function open(url: URL): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: url.hostname, port: Number(url.port), noDelay: true }, () => resolve(socket));
    socket.once("error", reject);
  });
}

/** The same request as postDelivery's: GitHub's headers, the signed body. */
function requestBytes(url: URL, d: Delivery): Buffer {
  const body = Buffer.from(d.body);
  const head = [
    `POST ${url.pathname} HTTP/1.1`,
    `host: ${url.host}`,
    "connection: keep-alive",
    "content-type: application/json",
    `content-length: ${body.length}`,
    "user-agent: GitHub-Hookshot/bench",
    "x-github-hook-id: 1",
    "x-github-hook-installation-target-type: integration",
    "x-github-hook-installation-target-id: 1",
    `x-github-event: ${d.event}`,
    `x-github-delivery: ${d.deliveryId}`,
    `x-hub-signature-256: ${d.signature}`,
    "",
    "",
  ].join("\r\n");
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** Writes one request and reads one answer (status line, headers, a Content-Length body). */
function exchange(socket: Socket, request: Buffer): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const done = (error?: Error, result?: { status: number; ms: number }) => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
      if (error) reject(error);
      else resolve(result!);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = received.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? Number.NaN);
      if (Number.isNaN(length)) return done(new Error(`an answer without Content-Length: ${head.split("\r\n")[0]}`));
      if (received.length < end + 4 + length) return;
      const ms = performance.now() - started;
      if (/\r\nconnection:\s*close/i.test(head)) socket.destroy();
      done(undefined, { status: Number(head.split(" ")[1]), ms });
    };
    const onError = (error: Error) => done(error);
    const onClose = () => done(new Error("the server closed the connection before answering"));
    socket.on("data", onData);
    socket.once("error", onError);
    socket.once("close", onClose);
    const started = performance.now();
    socket.write(request);
  });
}

main();
