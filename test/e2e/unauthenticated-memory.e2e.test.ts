import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { pullRequestPayload } from "../support/payloads.js";
import { postLarge, type LargePostResult } from "../support/post-large.js";
import { freePort, sleep, spawnServer, waitUntilServing, type ServerProcess } from "../support/server-process.js";

/**
 * Memory before authentication, at the real server (`node dist/server.js`; `npm run build` first):
 * 60 concurrent unsigned 25 MiB bodies (GitHub's largest), half declared, half chunked, must leave the
 * server's RSS bounded (unsigned bodies held at once are capped by CI_WEBHOOK_BUFFER, default 64 MiB:
 * the rest are answered 503 before they are read); connections that go away mid-body give back what
 * they held; and afterwards real traffic (a burst of 50 signed deliveries of GitHub's size) is all
 * acknowledged 2xx. It prints its figures.
 */

const APP_ID = 7171;
const MiB = 1024 * 1024;
const FLOOD = 60;
const BODY = 25 * MiB;
/**
 * The server's RSS may grow by at most this much under the flood: CI_WEBHOOK_BUFFER's default (64 MiB)
 * plus room for buffers the collector has not freed yet and socket buffers (seen: 113 MiB in all on
 * Node 20, 134–174 MiB on Node 24; with the signature checked on a text copy of each body, as
 * @octokit/webhooks-methods' verify takes it, 189–264 MiB on Node 24).
 * Before the cap, every body was read whole: +1336 MiB.
 */
const GROWTH_BOUND = 64 * MiB + 128 * MiB;
const BURST = 50;

/** A field of /proc/<pid>/status (VmRSS, VmHWM), in bytes; 0 once the process is gone. */
function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith(`${field}:`));
    return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

describe("memory before authentication at the server process", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-memory-${randomBytes(12).toString("base64url")}`;
  let fake: FakeGitHub;
  let server: ServerProcess;
  let root: string;
  let port: number;
  let hookUrl: string;

  /** A pull_request delivery of GitHub's own size (~21 kB) for an action pyci does not build on. */
  const body = () =>
    JSON.stringify(
      pullRequestPayload({
        action: "labeled",
        owner: "acme",
        repo: "widgets",
        number: 7,
        headSha: randomBytes(20).toString("hex"),
        sshUrl: "git@github.com:acme/widgets.git",
        cloneUrl: "https://github.com/acme/widgets.git",
        installationId: 71,
      }),
    );

  /** One signed delivery on `agent`'s connections, as GitHub sends it (Content-Length). */
  const deliver = (payload: string, agent?: Agent) =>
    new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        hookUrl,
        {
          method: "POST",
          ...(agent ? { agent } : {}),
          headers: {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(payload),
            "user-agent": "GitHub-Hookshot/memory",
            "x-github-event": "pull_request",
            "x-github-delivery": randomUUID(),
            "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      req.on("error", reject);
      req.end(payload);
    });

  beforeAll(async () => {
    fake = await startFakeGitHub({ appId: APP_ID, privateKey });
    root = mkdtempSync(join(tmpdir(), "pyci-memory-"));
    port = await freePort();
    hookUrl = `http://127.0.0.1:${port}/api/github/webhooks`;
    server = spawnServer(
      {
        NODE_ENV: "production",
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        HOST: "127.0.0.1",
        GHE_HOST: fake.host,
        GHE_PROTOCOL: "http",
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: join(root, "data"),
        CI_WORK_DIR: mkdtempSync(join(root, "work-")),
        CI_CONCURRENCY: "1",
        LOG_LEVEL: "warn",
        // as `npm start` runs it
        MALLOC_ARENA_MAX: "2",
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      },
      mkdtempSync(join(root, "cwd-")),
    );
    expect((await waitUntilServing(server, "/ping")).status).toBe(200);
    // warm: the first deliveries compile the route and load Probot's handlers
    for (let i = 0; i < 5; i++) expect(await deliver(body())).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop(), fake?.stop()]);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it(`keeps its RSS bounded under ${FLOOD} concurrent unsigned ${BODY / MiB} MiB bodies, answering each 400 or 503`, async () => {
    const pid = server.child.pid!;
    await sleep(500);
    const before = procStatus(pid, "VmRSS");
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, procStatus(pid, "VmRSS"))), 20);

    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: FLOOD }, (_, i) => postLarge(hookUrl, BODY, { chunked: i % 2 === 1 })),
    );
    const ms = Date.now() - started;
    await sleep(200);
    clearInterval(sampler);
    peak = Math.max(peak, procStatus(pid, "VmRSS"));
    const hwm = procStatus(pid, "VmHWM");

    const outcome = (r: LargePostResult) => `${r.status ?? r.error}`;
    const declared = countBy(
      results.filter((_, i) => i % 2 === 0),
      outcome,
    );
    const chunked = countBy(
      results.filter((_, i) => i % 2 === 1),
      outcome,
    );
    console.info(
      [
        `unsigned flood: ${FLOOD} × ${BODY / MiB} MiB in ${ms} ms; declared ${JSON.stringify(declared)}, chunked ${JSON.stringify(chunked)}`,
        `  bytes the clients got onto the wire: ${mib(results.reduce((sum, r) => sum + r.sent, 0))}`,
        `  server RSS ${mib(before)} before, peak ${mib(peak)} (+${mib(peak - before)}), VmHWM ${mib(hwm)}`,
      ].join("\n"),
    );

    expect(server.alive()).toBe(true);
    for (const r of results) expect([400, 503], JSON.stringify(r)).toContain(r.status);
    expect(results.filter((r) => r.status === 503).length, "bodies refused for want of room").toBeGreaterThan(0);
    expect(peak - before).toBeLessThan(GROWTH_BOUND);
    expect(hwm - before).toBeLessThan(GROWTH_BOUND);
    expect(server.output()).toContain("webhook delivery refused");
  }, 60_000);

  it("gets back what connections that went away mid-body held", async () => {
    // each declares GitHub's largest body (or streams one), sends a little of it and goes away
    for (let i = 0; i < 3; i++) {
      const gone = await postLarge(hookUrl, BODY, { chunked: false, abortAfter: MiB });
      expect(gone.error, JSON.stringify(gone)).toBe("aborted by the client");
      const goneChunked = await postLarge(hookUrl, BODY, { chunked: true, abortAfter: 4 * MiB });
      expect(goneChunked.error, JSON.stringify(goneChunked)).toBe("aborted by the client");
    }
    await sleep(200);
    // all of it is back: two bodies of GitHub's largest size fit at once (50 of the 64 MiB), read whole and refused unsigned
    const full = await Promise.all([0, 1].map(() => postLarge(hookUrl, BODY, { chunked: false })));
    expect(
      full.map((r) => r.status),
      JSON.stringify(full),
    ).toEqual([400, 400]);
    expect(await deliver(body())).toBe(200);
  }, 30_000);

  it(`acknowledges a burst of ${BURST} concurrent signed deliveries of normal size, every one 2xx`, async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: BURST });
    const payloads = Array.from({ length: BURST }, body);
    const started = Date.now();
    const statuses = await Promise.all(payloads.map((p) => deliver(p, agent)));
    const ms = Date.now() - started;
    agent.destroy();
    console.info(
      `signed burst: ${BURST} deliveries of ${Buffer.byteLength(payloads[0]!)} bytes in ${ms} ms; answers ${JSON.stringify(countBy(statuses, String))}`,
    );
    expect(
      statuses.every((s) => s >= 200 && s < 300),
      JSON.stringify(countBy(statuses, String)),
    ).toBe(true);
    expect(server.alive()).toBe(true);
  }, 30_000);
});
