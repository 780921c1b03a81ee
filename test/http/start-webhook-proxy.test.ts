import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { startWebhookProxy } from "../../src/http/start-webhook-proxy.js";

/** What smee.io sends down a channel for one delivery: its headers, its body, and the query. */
const DELIVERY = {
  "x-github-event": "ping",
  "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
  "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
  "content-type": "application/json",
  host: "smee.io",
  body: { zen: "Keep it logically awesome.", hook_id: 1 },
  query: {},
};

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map((s) => new Promise((resolve) => (s.closeAllConnections(), s.close(resolve)))),
  );
});

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }),
  );
  return { log: log as never, lines };
}

describe("startWebhookProxy", () => {
  it("forwards what a smee-like channel sends to the local webhook endpoint, headers and body", async () => {
    // a channel that sends one delivery as soon as the client is connected, as smee.io does
    const channel = await listen(
      createServer((_req, res) => {
        res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
        res.write(`event: ready\ndata: {}\n\n`);
        res.write(`data: ${JSON.stringify(DELIVERY)}\n\n`);
      }),
    );
    // the local webhook endpoint, recording what arrives
    const received: { req: IncomingMessage; body: string }[] = [];
    let arrive = () => {};
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const endpoint = await listen(
      createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          received.push({ req, body: Buffer.concat(chunks).toString("utf8") });
          res.writeHead(200).end("ok\n");
          arrive();
        });
      }),
    );
    const target = `${endpoint}/api/github/webhooks`;
    const { log, lines } = capture();

    const client = await startWebhookProxy({ url: `${channel}/channel`, target, log });
    expect(client).toBeDefined();
    await arrived;
    await client?.stop();

    expect(received).toHaveLength(1);
    const [{ req, body }] = received as [{ req: IncomingMessage; body: string }];
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/api/github/webhooks");
    expect(req.headers["x-github-event"]).toBe("ping");
    expect(req.headers["x-github-delivery"]).toBe(DELIVERY["x-github-delivery"]);
    expect(req.headers["x-hub-signature-256"]).toBe(DELIVERY["x-hub-signature-256"]);
    expect(req.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(body)).toEqual(DELIVERY.body);
    expect(lines.some((l) => String(l.msg).startsWith("Connected to"))).toBe(true);
  });

  it("tells an installed pyci, which has no smee-client, what to do, and does not stop the server", async () => {
    const { log, lines } = capture();
    const client = await startWebhookProxy({
      url: "https://smee.io/abc",
      target: "http://127.0.0.1:3000/api/github/webhooks",
      log,
      load: () => Promise.reject(new Error("Cannot find package 'smee-client'")),
    });
    expect(client).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, target: "http://127.0.0.1:3000/api/github/webhooks" });
    expect(String(lines[0]!.msg)).toContain("npx smee-client --url $WEBHOOK_PROXY_URL --target <target>");
    expect(String(lines[0]!.msg)).not.toContain("smee.io/abc");
  });

  it("logs a channel it cannot reach and goes on", async () => {
    const gone = await listen(createServer((_req, res) => res.writeHead(404).end("no such channel\n")));
    const { log, lines } = capture();
    const client = await startWebhookProxy({
      url: `${gone}/channel`,
      target: "http://127.0.0.1:9/api/github/webhooks",
      log,
    });
    expect(client).toBeUndefined();
    expect(lines.some((l) => l.level === 50 && String(l.msg).startsWith("could not connect"))).toBe(true);
  });
});
