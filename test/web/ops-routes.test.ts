import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildQueue } from "../../src/builds/build-queue.js";
import { createMetrics, type PyciMetrics } from "../../src/metrics/create-metrics.js";
import { BuildStore, newBuildId, type BuildState } from "../../src/store/build-store.js";
import { opsRoutes } from "../../src/web/ops-routes.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import { serveRoutes, type RouteServer } from "../support/route-server.js";

const TOKEN = "metrics-admin-token-0123456789";

let dir: string;
let store: BuildStore;
let queue: BuildQueue;
let metrics: PyciMetrics;
let server: RouteServer;

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${server.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

function serve(options: { workDir?: string; adminToken?: string; handOverProblem?: () => string | undefined } = {}) {
  return serveRoutes([
    opsRoutes({
      store,
      workDir: options.workDir ?? join(dir, "work"),
      registry: metrics.registry,
      adminToken: options.adminToken,
      ...(options.handOverProblem ? { handOverProblem: options.handOverProblem } : {}),
    }),
  ]);
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "pyci-ops-"));
  store = new BuildStore(join(dir, "data"));
  queue = new BuildQueue(1);
  metrics = createMetrics({ store, queue });
});
afterEach(async () => {
  await server?.close();
  try {
    store.close();
  } catch {
    // closed by the test
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("GET /healthz", () => {
  it("is ok while the database answers and the work dir is writable, and says why not otherwise", async () => {
    server = await serve();
    const ok = await get("/healthz");
    expect([ok.status, ok.text]).toEqual([200, "ok\n"]);
    expect(ok.headers.get("cache-control")).toBe("no-store");
    await server.close();

    const notADir = join(dir, "a-file");
    writeFileSync(notADir, "");
    server = await serve({ workDir: notADir });
    const work = await get("/healthz");
    expect([work.status, work.text]).toEqual([503, "unhealthy: CI_WORK_DIR is not writable\n"]);
    expect(work.text).not.toContain(dir);
    await server.close();

    server = await serve();
    store.close();
    const db = await get("/healthz");
    expect(db.status).toBe(503);
    expect(db.text).toMatch(/^unhealthy: the database does not answer/);
    // metrics need the database too: a clear 500, not a crash
    const scraped = await get("/metrics");
    expect(scraped.status).toBe(500);
    expect(scraped.text).toMatch(/database/);
  });

  it("says when builds cannot be handed to workers (Redis away), and when they can again", async () => {
    let redisUp = false;
    server = await serve({ handOverProblem: () => (redisUp ? undefined : "Redis (CI_REDIS_URL) does not answer") });
    const down = await get("/healthz");
    expect([down.status, down.text]).toEqual([503, "unhealthy: Redis (CI_REDIS_URL) does not answer\n"]);
    redisUp = true;
    const up = await get("/healthz");
    expect([up.status, up.text]).toEqual([200, "ok\n"]);
  });

  it("needs no token, even when one is configured", async () => {
    server = await serve({ adminToken: TOKEN });
    expect((await get("/healthz")).status).toBe(200);
  });
});

describe("GET /metrics", () => {
  it("is Prometheus text: builds by state, queue, step durations, deliveries, GitHub API errors", async () => {
    const states: BuildState[] = ["success", "success", "failure", "error", "running", "queued", "queued"];
    for (const state of states)
      store.create({
        id: newBuildId(),
        owner: "acme",
        repo: "widgets",
        sha: "a".repeat(40),
        event: "pull_request.opened",
        pipeline: "pr",
        state,
        createdAt: new Date().toISOString(),
        steps: [],
      });
    let release!: () => void;
    queue.add(() => new Promise<void>((resolve) => (release = resolve)));
    queue.add(async () => undefined);
    queue.add(async () => undefined);
    metrics.stepFinished({ name: "test", state: "failure", summary: "", exitCode: 1, durationMs: 1500 });
    metrics.stepFinished({ name: "test", state: "success", summary: "", exitCode: 0, durationMs: 40_000 });
    metrics.stepFinished({ name: "check", state: "success", summary: "", exitCode: 0, durationMs: 3200 });
    metrics.delivery("pull_request", "accepted");
    metrics.delivery("pull_request", "accepted");
    metrics.delivery("pull_request", "ignored");
    metrics.delivery("star", "ignored");
    metrics.githubApiError(502);
    metrics.githubApiError(undefined);
    metrics.githubApiError(502);

    server = await serve();
    const res = await get("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const samples = parsePrometheusText(res.text);
    const value = (name: string, labels?: Record<string, string>) => sampleValue(samples, name, labels);
    expect(
      ["queued", "running", "success", "failure", "error"].map((state) => value("pyci_builds", { state })),
    ).toEqual([2, 1, 2, 1, 1]);
    expect(value("pyci_queue_length")).toBe(2);
    expect(value("pyci_builds_running")).toBe(1);
    expect(value("pyci_step_duration_seconds_count", { step: "test", state: "failure" })).toBe(1);
    expect(value("pyci_step_duration_seconds_sum", { step: "test", state: "failure" })).toBe(1.5);
    expect(value("pyci_step_duration_seconds_bucket", { step: "test", state: "success", le: "30" })).toBe(0);
    expect(value("pyci_step_duration_seconds_bucket", { step: "test", state: "success", le: "60" })).toBe(1);
    expect(value("pyci_step_duration_seconds_bucket", { step: "check", state: "success", le: "+Inf" })).toBe(1);
    expect(value("pyci_webhook_deliveries_total", { event: "pull_request", outcome: "accepted" })).toBe(2);
    expect(value("pyci_webhook_deliveries_total", { event: "pull_request", outcome: "ignored" })).toBe(1);
    expect(value("pyci_webhook_deliveries_total", { event: "star", outcome: "ignored" })).toBe(1);
    expect(value("pyci_github_api_errors_total", { status: "502" })).toBe(2);
    expect(value("pyci_github_api_errors_total", { status: "network" })).toBe(1);

    // read at each scrape
    release();
    await queue.onIdle();
    store.create({
      id: newBuildId(),
      owner: "acme",
      repo: "widgets",
      sha: "b".repeat(40),
      event: "pull_request.opened",
      pipeline: "pr",
      state: "success",
      createdAt: new Date().toISOString(),
      steps: [],
    });
    const again = parsePrometheusText((await get("/metrics")).text);
    expect(sampleValue(again, "pyci_builds", { state: "success" })).toBe(3);
    expect(sampleValue(again, "pyci_queue_length")).toBe(0);
    expect(sampleValue(again, "pyci_builds_running")).toBe(0);
  });

  it("needs CI_ADMIN_TOKEN when one is configured", async () => {
    server = await serve({ adminToken: TOKEN });
    const refused = await get("/metrics");
    expect(refused.status).toBe(401);
    expect(refused.headers.get("www-authenticate")).toContain("Bearer");
    expect((await get("/metrics", { authorization: "Bearer not-the-token-000000" })).status).toBe(401);
    const ok = await get("/metrics", { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(parsePrometheusText(ok.text).some((s) => s.name === "pyci_builds")).toBe(true);
  });

  it("can be created once per app: each has its own registry", () => {
    const other = createMetrics({ store, queue });
    other.delivery("pull_request", "accepted");
    expect(other.registry).not.toBe(metrics.registry);
  });
});
