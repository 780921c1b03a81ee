import { createHmac, randomUUID } from "node:crypto";
import { request as httpRequest, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { Writable } from "node:stream";
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BodyBudget } from "../../src/http/body-budget.js";
import { createHttpServer } from "../../src/http/create-http-server.js";
import { verifySignature } from "../../src/http/verify-signature.js";
import { webhookRoute } from "../../src/http/webhook-route.js";
import { generateAppKey } from "../support/app-key.js";
import { sendWebhook } from "../support/webhook.js";

const SECRET = "It's a Secret to Everybody";
const CAP = 64 * 1024;
/** Room for two bodies at the cap and a bit: a third large one does not fit, a small one does. */
const BUDGET = 160 * 1024;
const BODY_TIMEOUT_MS = 1500;

async function until(what: string, predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("verifySignature", () => {
  it("accepts GitHub's published test vector and nothing else", () => {
    const body = Buffer.from("Hello, World!");
    const good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    expect(verifySignature(SECRET, body, good)).toBe(true);
    expect(verifySignature(SECRET, body, good.toUpperCase().replace("SHA256", "sha256"))).toBe(true);
    expect(verifySignature("another secret", body, good)).toBe(false);
    expect(verifySignature(SECRET, Buffer.from("Hello, World?"), good)).toBe(false);
    for (const bad of [
      undefined,
      "",
      "sha256=",
      good.slice(0, -1),
      `${good}0`,
      good.replace("sha256=", "sha1="),
      `${good} `,
      `sha256=${"z".repeat(64)}`,
    ]) {
      expect(verifySignature(SECRET, body, bad), String(bad)).toBe(false);
    }
  });

  it("takes no body that could not be the text GitHub signed: empty, or not UTF-8", () => {
    const sign = (bytes: Buffer) => `sha256=${createHmac("sha256", SECRET).update(bytes).digest("hex")}`;
    const notUtf8 = Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]);
    expect(verifySignature(SECRET, notUtf8, sign(notUtf8))).toBe(false);
    expect(verifySignature(SECRET, Buffer.alloc(0), sign(Buffer.alloc(0)))).toBe(false);
    const withBom = Buffer.from("\ufeff{}");
    expect(verifySignature(SECRET, withBom, sign(withBom))).toBe(true);
  });
});

/** The webhook route and pyci's HTTP server around a real Probot whose app records or fails. */
describe("the webhook route", () => {
  const lines: string[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }),
  );
  const received: { id: string; name: string; action: unknown }[] = [];
  let behaviour: "record" | "throw" | "hang" = "record";
  let closing = false;
  let server: Server;
  let url: string;
  const budget = new BodyBudget(BUDGET);
  const sockets: Socket[] = [];

  beforeAll(async () => {
    const probot = new Probot({
      appId: 1,
      privateKey: generateAppKey(),
      secret: SECRET,
      log,
      baseUrl: "http://127.0.0.1:9/api/v3",
    });
    await probot.load((app) => {
      app.onAny(async (context) => {
        if (behaviour === "throw") throw new Error("handler broke");
        if (behaviour === "hang") await new Promise((resolve) => setTimeout(resolve, 400));
        received.push({ id: context.id, name: context.name, action: (context.payload as { action?: unknown }).action });
      });
    });
    const route = webhookRoute({
      path: "/api/github/webhooks",
      secret: SECRET,
      receive: (delivery) => probot.webhooks.receive(delivery as Parameters<Probot["webhooks"]["receive"]>[0]),
      log,
      maxBodyBytes: CAP,
      budget,
      closing: () => closing,
      timeoutMs: 200,
      bodyTimeoutMs: BODY_TIMEOUT_MS,
    });
    server = createHttpServer({ log, maxBodyBytes: CAP, routes: [route] });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/github/webhooks`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    behaviour = "record";
    closing = false;
    received.length = 0;
    lines.length = 0;
  });

  // whatever a test did, every body's room is given back
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await until("the budget is empty again", () => budget.held === 0);
  });

  const send = (o: Partial<Parameters<typeof sendWebhook>[0]> = {}) =>
    sendWebhook({
      url,
      secret: SECRET,
      event: "pull_request",
      payload: { action: "opened", secret_marker: "PAYLOAD-TEXT" },
      ...o,
    });

  /** A delivery declaring `length` bytes whose headers and first `first` bytes go out, the rest only on finish(). */
  const stalled = (length: number, first: number) => {
    const { port } = new URL(url);
    const socket = connect(Number(port), "127.0.0.1");
    sockets.push(socket);
    let answer = "";
    socket.setEncoding("utf8").on("data", (chunk: string) => (answer += chunk));
    socket.on("error", () => undefined);
    const head = [
      "POST /api/github/webhooks HTTP/1.1",
      "Host: 127.0.0.1",
      "Content-Type: application/json",
      "X-GitHub-Event: ping",
      `X-GitHub-Delivery: ${randomUUID()}`,
      `X-Hub-Signature-256: sha256=${"0".repeat(64)}`,
      `Content-Length: ${length}`,
    ];
    socket.write(`${head.join("\r\n")}\r\n\r\n${" ".repeat(first)}`);
    return { socket, answer: () => answer, finish: () => socket.write(" ".repeat(length - first)) };
  };

  /** Two deliveries at the cap, stalled mid-body: together they hold 2 × CAP of BUDGET. */
  const fillBudget = async () => {
    const holders = [stalled(CAP, 100), stalled(CAP, 100)];
    await until("both hold their room", () => budget.held === 2 * CAP);
    return holders;
  };

  /** A signed body of `size` bytes that does not fit beside two stalled ones. */
  const large = (size = 40 * 1024) => {
    const start = JSON.stringify({ action: "opened", pad: "" });
    return start + " ".repeat(size - start.length);
  };

  /** POSTs `body` asking first (Expect: 100-continue), sending it only if told to continue. */
  const askFirst = (body: string) =>
    new Promise<{ status: number | undefined; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          expect: "100-continue",
          "x-github-event": "ping",
          "x-github-delivery": randomUUID(),
          "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
        },
      });
      req.on("continue", () => {
        continued = true;
        req.end(body);
      });
      req.on("response", (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode, continued }));
        req.destroy();
      });
      req.on("error", reject);
    });

  it("hands a signed delivery to the app and answers 200", async () => {
    const res = await send({ deliveryId: "d-1" });
    expect([res.status, res.body]).toEqual([200, "ok\n"]);
    expect(received).toEqual([{ id: "d-1", name: "pull_request", action: "opened" }]);
  });

  it("answers 202 when the handlers take longer than the timeout, and 500 when one throws", async () => {
    behaviour = "hang";
    expect((await send()).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(received).toHaveLength(1);
    behaviour = "throw";
    expect((await send()).status).toBe(500);
  });

  it.each([
    ["a wrong signature", { signature: `sha256=${"0".repeat(64)}` }, 400],
    ["a signature made with another secret", { secret: "not the secret" }, 400],
    ["no signature", { signature: null }, 400],
    ["no event", { event: null }, 400],
    ["no delivery id", { deliveryId: null }, 400],
    ["an event name that is no event", { event: "__proto__" }, 400],
    ["a delivery id with spaces", { deliveryId: "a b" }, 400],
    ["a signed body that is not JSON", { rawBody: "{not json" }, 400],
    ["a signed JSON array", { rawBody: "[1,2]" }, 400],
    ["a signed JSON null", { rawBody: "null" }, 400],
    ["a wrong content type", { contentType: "text/plain" }, 415],
  ] as const)(
    "refuses %s, logging the delivery id, event and reason, never the payload",
    async (_, override, status) => {
      const res = await send({ deliveryId: "d-refused", ...override });
      expect(res.status, res.body).toBe(status);
      expect(received).toEqual([]);
      const log = lines.join("");
      expect(log).toContain("webhook delivery refused");
      expect(log).not.toContain("PAYLOAD-TEXT");
      expect(log).not.toContain("not json");
    },
  );

  it("answers 404 to other methods on the webhook path, and 404 elsewhere", async () => {
    expect((await fetch(url)).status).toBe(404);
    expect((await fetch(url.replace("webhooks", "other"), { method: "POST" })).status).toBe(404);
    expect(await (await fetch(url.replace("/api/github/webhooks", "/ping"))).text()).toBe("PONG");
  });

  it("refuses a body over the cap with 413: declared, or streamed", async () => {
    const big = JSON.stringify({ action: "opened", pad: "x".repeat(CAP) });
    const declared = await send({ rawBody: big });
    expect(declared.status).toBe(413);
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 8; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(CAP / 4)));
        controller.close();
      },
    });
    const body = " ".repeat(2 * CAP);
    const chunked = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`,
      },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(received).toEqual([]);
    // at the cap exactly: accepted
    const fits = JSON.stringify({ action: "opened", pad: "" });
    expect((await send({ rawBody: fits + " ".repeat(CAP - fits.length) })).status).toBe(200);
  });

  it("answers 503 while the server shuts down", async () => {
    closing = true;
    const res = await send();
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/shutting down/);
    expect(received).toEqual([]);
  });

  it("refuses a signed delivery whose installation id is not an id, before Probot authenticates it", async () => {
    const res = await send({ payload: { action: "opened", installation: { id: " " } } });
    expect(res.status, res.body).toBe(400);
    expect(received).toEqual([]);
  });

  it("refuses with 503 and Retry-After, unread, a declared body that does not fit beside those held; small ones still fit", async () => {
    const [first, second] = await fillBudget();
    const refused = await send({ rawBody: large(), deliveryId: "d-busy" });
    expect(refused.status, refused.body).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(JSON.parse(refused.body).error).toMatch(/CI_WEBHOOK_BUFFER/);
    expect(received).toEqual([]);
    const log = lines.join("");
    expect(log).toMatch(/"deliveryId":"d-busy".*"status":503/);
    expect(log).not.toContain("PAYLOAD-TEXT");
    // a delivery of ordinary size fits beside them
    expect((await send()).status).toBe(200);

    // a client that goes away mid-body gives its room back; one whose body is refused too
    first!.socket.destroy();
    await until("the first's room is back", () => budget.held === CAP);
    expect((await send({ rawBody: large() })).status).toBe(200);
    second!.finish();
    await until("the second is answered", () => second!.answer().startsWith("HTTP/1.1 400"));
    expect(budget.held).toBe(0);
  });

  it("refuses with 503 a chunked body once its buffer cannot grow within the budget", async () => {
    await fillBudget();
    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(" ".repeat(CAP / 8)));
        controller.close();
      },
    });
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "ping",
        "x-github-delivery": randomUUID(),
        "x-hub-signature-256": `sha256=${"0".repeat(64)}`,
      },
      body: stream,
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("10");
  });

  it("tells a client that asks first to send only when its body has room", async () => {
    const holders = await fillBudget();
    expect(await askFirst(large())).toEqual({ status: 503, continued: false });
    for (const holder of holders) holder.socket.destroy();
    await until("the room is back", () => budget.held === 0);
    expect(await askFirst(large())).toEqual({ status: 200, continued: true });
  });

  it("answers 408 to a body that does not arrive in time, and gives its room back", async () => {
    const slow = stalled(CAP, 10);
    await until("it holds its room", () => budget.held === CAP);
    await until("the answer", () => slow.answer().startsWith("HTTP/1.1 408"), BODY_TIMEOUT_MS + 2000);
    expect(budget.held).toBe(0);
    expect(lines.join("")).toContain('"status":408');
  });
});
