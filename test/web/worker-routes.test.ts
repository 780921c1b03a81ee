import { afterEach, describe, expect, it } from "vitest";
import { BuildQueue } from "../../src/builds/build-queue.js";
import { createMetrics } from "../../src/metrics/create-metrics.js";
import type { WorkerMetrics } from "../../src/metrics/worker-metrics.js";
import { workerRoutes } from "../../src/web/worker-routes.js";
import type { WorkerBeat } from "../../src/workers/worker-heartbeat.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import { serveRoutes, type RouteServer } from "../support/route-server.js";

const TOKEN = "workers-admin-token-0123456789";
const HOSTILE: WorkerBeat = {
  name: `<script>alert("name")</script>`,
  labels: ["big", "<img src=x onerror=alert(1)>"],
  concurrency: 2,
  running: ["AAAAAAAAAAAAAAAAAAAAAA"],
  startedAt: "2026-12-06T10:00:00.000Z",
  lastSeen: "2026-12-06T10:05:00.000Z",
};

let server: RouteServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function get(path: string, token?: string) {
  const res = await fetch(`${server!.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, type: res.headers.get("content-type"), text: await res.text() };
}

describe("the workers view (GET /workers, /api/workers)", () => {
  it("lists the connected workers behind the admin token, every value escaped", async () => {
    server = await serveRoutes([workerRoutes({ adminToken: TOKEN, workers: async () => [HOSTILE] })]);
    expect((await get("/workers")).status).toBe(401);
    expect((await get("/api/workers", "wrong-token-0123456789")).status).toBe(401);
    const page = await get("/workers", TOKEN);
    expect(page.status).toBe(200);
    expect(page.type).toContain("text/html");
    expect(page.text).not.toContain("<script>alert");
    expect(page.text).not.toContain("<img src=x");
    expect(page.text).toContain("&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;");
    expect(page.text).toContain('<a href="/builds/AAAAAAAAAAAAAAAAAAAAAA">AAAAAAAA</a>');
    expect(page.text).toContain("1 of 2");
    const api = await get("/api/workers", TOKEN);
    expect(JSON.parse(api.text)).toEqual({ workers: [HOSTILE] });
  });

  it("is off without CI_ADMIN_TOKEN, says when Redis does not answer, and when there are no workers", async () => {
    server = await serveRoutes([workerRoutes({ adminToken: undefined, workers: async () => [HOSTILE] })]);
    expect((await get("/api/workers")).status).toBe(404);
    await server.close();
    server = await serveRoutes([
      workerRoutes({ adminToken: TOKEN, workers: () => Promise.reject(new Error("connection refused")) }),
    ]);
    const down = await get("/api/workers", TOKEN);
    expect(down.status).toBe(503);
    expect(JSON.parse(down.text)).toEqual({
      workers: [],
      error: expect.stringMatching(/Redis \(CI_REDIS_URL\) does not answer/),
    });
    await server.close();
    server = await serveRoutes([workerRoutes({ adminToken: TOKEN })]);
    const none = await get("/workers", TOKEN);
    expect(none.status).toBe(200);
    expect(none.text).toContain("CI_REDIS_URL is not set");
  });
});

describe("worker metrics", () => {
  it("show queues by label set, workers and their builds, hand-overs, and whether Redis answers, read once a scrape", async () => {
    let reads = 0;
    let now: WorkerMetrics = {
      redisUp: true,
      queues: [
        { labels: "", waiting: 0 },
        { labels: "big,py312", waiting: 3 },
      ],
      workers: [
        { name: "a", running: 2, concurrency: 2 },
        { name: "b", running: 0, concurrency: 4 },
      ],
    };
    const metrics = createMetrics({
      store: { counts: () => ({}) as never },
      queue: new BuildQueue(1),
      workers: async () => (reads++, now),
    });
    metrics.handedOver(0.04);
    metrics.handedOver(12);
    const first = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleValue(first, "pyci_redis_up")).toBe(1);
    expect(sampleValue(first, "pyci_worker_queue_waiting", { labels: "big,py312" })).toBe(3);
    expect(sampleValue(first, "pyci_workers_connected")).toBe(2);
    expect(sampleValue(first, "pyci_worker_builds_running", { worker: "a" })).toBe(2);
    expect(sampleValue(first, "pyci_handover_seconds_count")).toBe(2);
    expect(sampleValue(first, "pyci_handover_seconds_bucket", { le: "0.05" })).toBe(1);
    expect(reads).toBe(1);

    // Redis away: it says so, and a worker no longer connected leaves no series behind
    now = { redisUp: false, queues: [], workers: [] };
    const second = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleValue(second, "pyci_redis_up")).toBe(0);
    expect(sampleValue(second, "pyci_workers_connected")).toBe(0);
    expect(sampleValue(second, "pyci_worker_builds_running", { worker: "a" })).toBeUndefined();
    expect(reads).toBe(2);
  });
});
