import { request } from "node:http";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BuildRecord } from "../../src/store/build-store.js";
import { MAX_RANGE_BYTES } from "../../src/web/build-routes.js";
import { LiveClients } from "../../src/web/live-clients.js";
import { WINDOW_BYTES } from "../../src/web/log-window.js";
import { newBuild, serveBuildRoutes, type RoutesServer } from "./serve-build-routes.js";

let app: RoutesServer;

beforeEach(async () => {
  app = await serveBuildRoutes({ heartbeatMs: 100 });
});
afterEach(async () => {
  await app.close();
});

function created(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return app.store.create(newBuild(overrides));
}

function writeLog(id: string, step: string, ...pieces: string[]): void {
  const log = app.store.openLog(id, step, (t) => t);
  for (const piece of pieces) log.write(piece);
  log.close();
}

function subscribers(id: string): number {
  return (app.store as unknown as { events: { listenerCount(id: string): number } }).events.listenerCount(id);
}

interface Sse {
  event: string;
  id?: string;
  data: string;
}

/** An EventSource-like reader of a stream: everything received, and a way to wait for more. */
function openEvents(url: string, headers: Record<string, string> = {}) {
  const received: Sse[] = [];
  const comments: string[] = [];
  const controller = new AbortController();
  let ended = false;
  let failure: unknown;
  const done = (async () => {
    const res = await fetch(url, { headers, signal: controller.signal });
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let cut = buffer.indexOf("\n\n"); cut >= 0; cut = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const fields = new Map<string, string>();
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) comments.push(line);
          else fields.set(line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2));
        }
        if (fields.has("event"))
          received.push({
            event: fields.get("event")!,
            ...(fields.has("id") ? { id: fields.get("id")! } : {}),
            data: fields.get("data") ?? "",
          });
      }
    }
    ended = true;
  })().catch((error: unknown) => {
    // aborted by close(), or cut by the server closing at the end of a test that failed earlier
    failure = error;
  });
  return {
    received,
    comments,
    ended: () => ended,
    failure: () => failure,
    done,
    close: () => controller.abort(),
    logText: (step: string) =>
      received
        .filter((e) => e.event === "log")
        .map((e) => JSON.parse(e.data) as { step: string; text: string })
        .filter((e) => e.step === step)
        .map((e) => e.text)
        .join(""),
    async until(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline)
          throw new Error(`not within ${timeoutMs} ms: ${what}; received ${JSON.stringify(received).slice(0, 2000)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
  };
}

describe("the build page routes", () => {
  it("answer only for known capability ids, and only GET and HEAD", async () => {
    const build = created({ state: "success" });
    writeLog(build.id, "test", "hello\n");
    for (const path of [
      `/builds/${randomBytes(16).toString("base64url")}`,
      `/builds/${randomBytes(16).toString("base64url")}/test.log`,
      `/builds/${randomBytes(16).toString("base64url")}/events`,
    ]) {
      expect((await fetch(`${app.url}${path}`)).status, path).toBe(404);
    }
    expect((await fetch(`${app.url}/builds/${build.id}/check.log`)).status).toBe(404);
    expect((await fetch(`${app.url}/builds/${build.id}/..%2Fpyci.db.log`)).status).toBe(404);
    expect((await fetch(`${app.url}/builds/${build.id}`, { method: "POST" })).status).toBe(405);
    const page = await fetch(`${app.url}/builds/${build.id}`);
    expect(page.status).toBe(200);
    const csp = page.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await page.text();
    const src = /<script type="module" src="([^"]+)">/.exec(html)![1]!;
    const script = await fetch(`${app.url}${src}`);
    expect(script.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(script.headers.get("cache-control")).toContain("immutable");
    // the renderer is a module of its own, imported at its version: cached for good too
    const renderer = /from "(\.\/render-ansi\.js\?v=[\w-]+)"/.exec(await script.text())![1]!;
    const module = await fetch(new URL(renderer, `${app.url}${src}`));
    expect(module.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(module.headers.get("cache-control")).toContain("immutable");
    expect(await module.text()).toContain("export function renderAnsi");
    expect((await fetch(`${app.url}/assets/log-viewer.js?v=old`)).headers.get("cache-control")).toBe("no-cache");
  });

  it("serve a log whole, or a byte range of it with the range in headers", async () => {
    const build = created({ state: "success" });
    const text = Array.from({ length: 5000 }, (_, i) => `line ${i + 1} · ünïcode\n`).join("");
    writeLog(build.id, "test", text);
    const whole = await fetch(`${app.url}/builds/${build.id}/test.log`);
    expect(whole.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await whole.text()).toBe(text);
    const size = Buffer.byteLength(text);
    // the range may move by a few bytes so as not to cut a character: the headers say where it landed
    const part = await fetch(`${app.url}/builds/${build.id}/test.log?start=1001&end=2002`);
    const [start, end] = [Number(part.headers.get("x-log-start")), Number(part.headers.get("x-log-end"))];
    expect(Number(part.headers.get("x-log-size"))).toBe(size);
    expect(await part.text()).toBe(Buffer.from(text).subarray(start, end).toString());
    expect(start - 1001).toBeLessThanOrEqual(3);
    expect(2002 - end).toBeLessThanOrEqual(3);
    const tail = await fetch(
      `${app.url}/builds/${build.id}/test.log?start=-${Buffer.byteLength("line 5000 · ünïcode\n")}`,
    );
    expect(await tail.text()).toBe("line 5000 · ünïcode\n");
    expect(tail.headers.get("x-log-end")).toBe(String(size));
    for (const query of ["start=abc", "end=-1", "start=1.5"])
      expect((await fetch(`${app.url}/builds/${build.id}/test.log?${query}`)).status, query).toBe(400);
    const huge = created({ state: "success" });
    writeLog(huge.id, "test", "z".repeat(MAX_RANGE_BYTES + 10));
    const capped = await fetch(`${app.url}/builds/${huge.id}/test.log?start=0&end=${MAX_RANGE_BYTES + 10}`);
    expect(capped.headers.get("x-log-end")).toBe(String(MAX_RANGE_BYTES));
    expect((await capped.text()).length).toBe(MAX_RANGE_BYTES);
  });

  it("render the tail of a big log, and earlier windows without JavaScript", async () => {
    const build = created({ state: "success" });
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i + 1}`);
    writeLog(build.id, "test", `${lines.join("\n")}\n`);
    const html = await (await fetch(`${app.url}/builds/${build.id}`)).text();
    expect(html.length).toBeLessThan(WINDOW_BYTES * 2);
    expect(html).toContain('<div class="l" id="Ltest-100000"><a href="#Ltest-100000">100000</a>line 100000</div>');
    expect(html).toContain('<div class="l" id="Ltest-98001"><a href="#Ltest-98001">98001</a>line 98001</div>');
    expect(html).not.toContain('id="Ltest-98000"');
    const before = /\?step=test&amp;before=(\d+)#log-test/.exec(html)![1]!;
    const earlier = await (await fetch(`${app.url}/builds/${build.id}?step=test&before=${before}`)).text();
    expect(earlier).toContain('<div class="l" id="Ltest-98000"><a href="#Ltest-98000">98000</a>line 98000</div>');
    expect(earlier).toContain('id="Ltest-96001"');
    expect(earlier).not.toContain('id="Ltest-98001"');
    expect(earlier).toContain("Jump to the end of the log");
  });

  it("stream a running build: what the page lacks, then new output, states and the end", async () => {
    const build = created({ state: "running" });
    writeLog(build.id, "checkout", "cloned\n", "checked out\n");
    const test = app.store.openLog(build.id, "test", (t) => t);
    test.write("first\n");
    // the page had the first line of the test log and nothing of checkout
    const events = openEvents(`${app.url}/builds/${build.id}/events?at=test:6`);
    await events.until("catch-up", () => events.logText("checkout") === "cloned\nchecked out\n");
    await events.until("the build as it is", () => events.received.some((e) => e.event === "build"));
    expect(events.logText("test")).toBe("");
    expect(subscribers(build.id)).toBe(1);

    test.write("second\n");
    test.write("\u001b[31mthird\u001b[0m\n");
    await events.until("live lines", () => events.logText("test") === "second\n\u001b[31mthird\u001b[0m\n");
    const last = events.received.filter((e) => e.event === "log").at(-1)!;
    const end = Buffer.byteLength("first\nsecond\n\u001b[31mthird\u001b[0m\n");
    expect(JSON.parse(last.data)).toMatchObject({ step: "test", end });
    expect(last.id!.split(",").sort()).toEqual([
      `checkout:${Buffer.byteLength("cloned\nchecked out\n")}`,
      `test:${end}`,
    ]);
    await events.until("a heartbeat", () => events.comments.length > 0);

    build.steps.push({
      name: "test",
      state: "failure",
      summary: "1 failure in 2 tests",
      exitCode: 1,
      durationMs: 1234,
    });
    app.store.save(build);
    await events.until("the step's result", () =>
      events.received.some((e) => e.event === "build" && JSON.parse(e.data).steps.length === 1),
    );
    const summary = JSON.parse(events.received.filter((e) => e.event === "build").at(-1)!.data);
    expect(summary).toMatchObject({
      state: "running",
      steps: [{ name: "test", state: "failure", summary: "1 failure in 2 tests", durationMs: 1234, duration: "1.2 s" }],
    });

    test.write("fourth\n");
    test.close();
    build.state = "failure";
    build.finishedAt = new Date().toISOString();
    app.store.save(build);
    await events.done;
    expect(events.failure()).toBeUndefined();
    expect(events.ended()).toBe(true);
    expect(events.logText("test")).toBe("second\n\u001b[31mthird\u001b[0m\nfourth\n");
    expect(events.received.map((e) => e.event).slice(-2)).toEqual(["build", "end"]);
    expect(JSON.parse(events.received.at(-1)!.data)).toEqual({ state: "failure" });
    expect(subscribers(build.id)).toBe(0);
  });

  it("resume a reconnection from its Last-Event-ID, and end at once for a finished build", async () => {
    const build = created({ state: "running" });
    writeLog(build.id, "checkout", "a\n");
    writeLog(build.id, "test", "b\nc\n");
    const events = openEvents(`${app.url}/builds/${build.id}/events`, { "last-event-id": "checkout:2,test:2" });
    await events.until("the rest", () => events.logText("test") === "c\n");
    expect(events.logText("checkout")).toBe("");
    events.close();
    await events.done;

    build.state = "success";
    app.store.save(build);
    const finished = openEvents(`${app.url}/builds/${build.id}/events?at=checkout:2,test:4`);
    await finished.done;
    expect(finished.received.map((e) => e.event)).toEqual(["build", "end"]);
  });

  it("unsubscribe when the client goes away", async () => {
    const build = created({ state: "queued" });
    const events = openEvents(`${app.url}/builds/${build.id}/events`);
    await events.until("subscribed", () => subscribers(build.id) === 1 && events.received.length > 0);
    events.close();
    await events.done;
    const deadline = Date.now() + 5000;
    while (subscribers(build.id) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(subscribers(build.id)).toBe(0);
  });

  it("end when the server closes, so that closing does not wait for builds to end", async () => {
    const build = created({ state: "running" });
    const events = openEvents(`${app.url}/builds/${build.id}/events`);
    await events.until("subscribed", () => events.received.length > 0);
    const started = Date.now();
    app.server.close();
    await events.done;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(subscribers(build.id)).toBe(0);
  });

  it("read a log no faster than a slow client takes it, and lose nothing", async () => {
    const build = created({ state: "running" });
    const read = vi.spyOn(app.store, "readLogRange");
    const total = 32 * 1024 * 1024;
    // a cap above what is written: this is about streaming, not about the cap's head and tail
    const log = app.store.openLog(build.id, "test", (t) => t, undefined, 2 * total);
    const line = `${"x".repeat(1023)}\n`;
    // a client that does not read
    const response = await new Promise<import("node:http").IncomingMessage>((resolve) =>
      request(`${app.url}/builds/${build.id}/events`, resolve).end(),
    );
    response.pause();
    for (let written = 0; written < total; written += line.length) log.write(line);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const readWhilePaused = (await Promise.all(read.mock.results.map((r) => r.value))).reduce(
      (n, c) => n + (c ? c.end - c.start : 0),
      0,
    );
    expect(readWhilePaused).toBeLessThan(total / 2);
    // then it reads: all of it arrives, once
    let received = 0;
    let text = "";
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      text += chunk;
      for (let cut = text.indexOf("\n\n"); cut >= 0; cut = text.indexOf("\n\n")) {
        const data = text
          .slice(0, cut)
          .split("\n")
          .find((l) => l.startsWith("data: "));
        text = text.slice(cut + 2);
        if (data?.includes('"step":"test"')) received += Buffer.byteLength(JSON.parse(data.slice(6)).text);
      }
    });
    response.resume();
    const deadline = Date.now() + 20_000;
    while (received < total && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(received).toBe(total);
    log.close();
    response.destroy();
  });
});

describe("live event streams under their caps", () => {
  it("refuse a stream past the build's cap or the server's with 503, and admit one again once a stream ends", async () => {
    const live = new LiveClients({ perBuild: 2, total: 3 });
    const capped = await serveBuildRoutes({ heartbeatMs: 100, liveClients: live });
    try {
      const [a, b, c] = [0, 1, 2].map(() => capped.store.create(newBuild({ state: "running" })));
      const streams = [a!, a!, b!].map((build) => openEvents(`${capped.url}/builds/${build.id}/events`));
      for (const stream of streams) await stream.until("streaming", () => stream.received.length > 0);

      const perBuild = await fetch(`${capped.url}/builds/${a!.id}/events`);
      expect(perBuild.status).toBe(503);
      expect(perBuild.headers.get("retry-after")).toBe("30");
      expect(await perBuild.text()).toMatch(/CI_LIVE_CLIENTS_PER_BUILD=2/);
      const total = await fetch(`${capped.url}/builds/${c!.id}/events`);
      expect(total.status).toBe(503);
      expect(await total.text()).toMatch(/CI_LIVE_CLIENTS=3/);
      // the page itself is not a stream: still served
      expect((await fetch(`${capped.url}/builds/${a!.id}`)).status).toBe(200);

      streams[0]!.close();
      await streams[0]!.done;
      const deadline = Date.now() + 5000;
      while (live.open(a!.id) > 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect([live.open(a!.id), live.open()]).toEqual([1, 2]);
      const again = openEvents(`${capped.url}/builds/${a!.id}/events`);
      await again.until("streaming", () => again.received.length > 0);
      streams.push(again);

      // a finished build's stream ends by itself, and gives its place back
      b!.state = "success";
      capped.store.save(b!);
      await streams[2]!.done;
      while (live.open(b!.id) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(live.open()).toBe(2);
      for (const stream of streams) stream.close();
    } finally {
      await capped.close();
    }
  });
});
