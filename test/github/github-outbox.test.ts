import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { completeCheckRun } from "../../src/github/check-run.js";
import { createPyciOctokit } from "../../src/github/create-octokit-class.js";
import { GitHubOutbox, OUTBOX_MAX_AGE_MS } from "../../src/github/github-outbox.js";
import { setStatus, type StatusUpdate } from "../../src/github/set-status.js";
import type { ReportTarget } from "../../src/github/types.js";
import { WriteLimiter } from "../../src/github/write-limiter.js";
import { statusKey, type ReportWriter } from "../../src/github/write-or-keep.js";
import { createMetrics } from "../../src/metrics/create-metrics.js";
import { OutboxStore } from "../../src/store/outbox-store.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";

/**
 * The outbox between pyci and the fake GitHub: statuses and check-run updates
 * GitHub fails (after Octokit's own retries, off here) are kept in SQLite and
 * sent later; a newer write of the same thing replaces a kept one. The
 * outbox's clock is the test's, so "later" is exact.
 */

const APP_ID = 7171;
const INSTALLATION = 91;
const SHA = "89abcdef0123456789abcdef0123456789abcdef";
const URL_ = "https://ci.example.com/builds/1";
const PENDING: StatusUpdate = { context: "ci/test", state: "pending", description: "Queued", targetUrl: URL_ };
const SUCCESS: StatusUpdate = { context: "ci/test", state: "success", description: "12 tests passed", targetUrl: URL_ };

describe("GitHubOutbox", () => {
  const privateKey = generateAppKey();
  let fake: FakeGitHub;
  let probot: Probot;
  let dataDir: string;
  let store: OutboxStore;
  let clock: number;
  const logLines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });
  const logged = (msg: string) =>
    logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
  let repoCount = 0;
  let target: ReportTarget;

  const newOutbox = (s = store) =>
    new GitHubOutbox({ store: s, octokitFor: async (id) => probot.auth(id), log, now: () => clock });
  const writer = async (outbox: GitHubOutbox): Promise<ReportWriter> => ({
    octokit: await probot.auth(INSTALLATION),
    outbox,
    log,
  });
  const statusPath = () => `/repos/${target.owner}/${target.repo}/statuses/${SHA}`;
  const statusRequests = () => fake.requests.filter((r) => r.method === "POST" && r.path === statusPath());
  const delivered = () => fake.statuses.filter((s) => s.repo === target.repo).map((s) => s.body.state);

  beforeAll(async () => {
    fake = await startFakeGitHub({ appId: APP_ID, privateKey });
    // Octokit's own retries off: one failure is one failed write
    probot = new Probot({
      appId: APP_ID,
      privateKey,
      baseUrl: fake.baseUrl,
      log,
      Octokit: createPyciOctokit({ retries: 0, retryAfterBaseMs: 1, limiter: new WriteLimiter({ burst: 10_000 }) }),
    });
  });
  afterAll(async () => {
    await fake?.stop();
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), "pyci-outbox-"));
    store = new OutboxStore(dataDir);
    clock = Date.parse("2026-03-01T12:00:00Z");
    target = { owner: "acme", repo: `repo-${++repoCount}`, sha: SHA, installationId: INSTALLATION };
  });
  afterEach(() => {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
    expect(fake.violations).toEqual([]);
    logLines.length = 0;
  });

  it("keeps a status GitHub fails, and sends it once it is due and GitHub is back", async () => {
    const outbox = newOutbox();
    fake.failNext({ method: "POST", path: statusPath(), status: 502 });
    await setStatus(await writer(outbox), target, SUCCESS);
    expect(outbox.size()).toBe(1);
    expect(logged("GitHub write failed; kept in the outbox to retry later")).toEqual([
      expect.objectContaining({ kind: "status", key: statusKey(target, "ci/test"), status: 502 }),
    ]);

    await outbox.drain();
    expect(statusRequests()).toHaveLength(1); // not due yet

    clock += 5_000;
    await outbox.drain();
    expect(statusRequests().map((r) => r.status)).toEqual([502, 201]);
    expect(delivered()).toEqual(["success"]);
    expect(outbox.size()).toBe(0);
    expect(logged("kept GitHub write delivered")).toHaveLength(1);
  });

  it("a final status sent since replaces a kept pending one: the late pending is never sent", async () => {
    const outbox = newOutbox();
    const github = await writer(outbox);
    fake.failNext({ method: "POST", path: statusPath(), status: 503 });
    await setStatus(github, target, PENDING);
    await setStatus(github, target, SUCCESS);
    expect(outbox.size()).toBe(0);
    clock += 60 * 60_000;
    await outbox.drain();
    expect(delivered()).toEqual(["success"]);
  });

  it("when both fail, only the newest is kept and sent", async () => {
    const outbox = newOutbox();
    const github = await writer(outbox);
    fake.failNext({ method: "POST", path: statusPath(), status: 502, times: 2 });
    await setStatus(github, target, PENDING);
    await setStatus(github, target, SUCCESS);
    expect(outbox.size()).toBe(1);
    clock += 5_000;
    await outbox.drain();
    expect(delivered()).toEqual(["success"]);
  });

  it("a status written while the kept one is being retried lands after it", async () => {
    // the outbox's retries on a client of their own: only the outbox orders the two writes, not the write pacing
    const own = new Probot({
      appId: APP_ID,
      privateKey,
      baseUrl: fake.baseUrl,
      log,
      Octokit: createPyciOctokit({ retries: 0, limiter: new WriteLimiter({ burst: 10_000 }) }),
    });
    const outbox = new GitHubOutbox({ store, octokitFor: async (id) => own.auth(id), log, now: () => clock });
    const github = await writer(outbox);
    fake.failNext({ method: "POST", path: statusPath(), status: 502 });
    await setStatus(github, target, PENDING);
    clock += 5_000;
    // the retry of `pending` is slow to answer; `success` is written meanwhile
    const held = fake.holdNext({ method: "POST", path: statusPath() });
    const retrying = outbox.drain();
    await held.waitForArrival();
    const final = setStatus(github, target, SUCCESS);
    // give `success` every chance to overtake (it must not: it waits for the retry of its context)
    await fake.waitFor(() => delivered().includes("success"), 300).catch(() => undefined);
    held.release();
    await Promise.all([retrying, final]);
    expect(delivered()).toEqual(["pending", "success"]);
    expect(outbox.size()).toBe(0);
  });

  it("throws what no retry changes (422, 404) and keeps nothing", async () => {
    const outbox = newOutbox();
    const github = await writer(outbox);
    fake.failNext({ method: "POST", path: statusPath(), status: 422 });
    await expect(setStatus(github, target, SUCCESS)).rejects.toMatchObject({ status: 422 });
    fake.failNext({ method: "POST", path: statusPath(), status: 404 });
    await expect(setStatus(github, target, SUCCESS)).rejects.toMatchObject({ status: 404 });
    expect(outbox.size()).toBe(0);
  });

  it("keeps a check run's completion, every annotation batch in order, and sends them later", async () => {
    const outbox = newOutbox();
    const github = await writer(outbox);
    const { data: run } = await github.octokit.rest.checks.create({
      owner: target.owner,
      repo: target.repo,
      name: "pyci",
      head_sha: SHA,
      status: "in_progress",
    });
    const patchPath = `/repos/${target.owner}/${target.repo}/check-runs/${run.id}`;
    fake.failNext({ method: "PATCH", path: patchPath, status: 500 });
    const annotations = Array.from({ length: 120 }, (_, i) => ({
      path: "calc.py",
      start_line: i + 1,
      end_line: i + 1,
      annotation_level: "warning" as const,
      message: `w${i}`,
    }));
    await completeCheckRun(github, target, run.id, {
      conclusion: "failure",
      title: "2 tests failed",
      summary: "…",
      annotations,
    });
    expect(outbox.size()).toBe(1);
    clock += 5_000;
    await outbox.drain();
    const stored = fake.checkRuns.find((r) => r.id === run.id)!;
    expect(stored.fields).toMatchObject({ status: "completed", conclusion: "failure" });
    expect(stored.annotations.map((a) => a.message)).toEqual(annotations.map((a) => a.message));
    expect(fake.requests.filter((r) => r.method === "PATCH" && r.path === patchPath).map((r) => r.status)).toEqual([
      500, 200, 200, 200,
    ]);
  });

  it("survives the process: a new outbox on the same data directory sends what the old one kept", async () => {
    const first = newOutbox();
    fake.failNext({ method: "POST", path: statusPath(), status: 502 });
    await setStatus(await writer(first), target, SUCCESS);
    store.close();

    // the next process, at once: the same database; a start sends what is kept, due or not
    store = new OutboxStore(dataDir);
    const second = newOutbox(store);
    second.start();
    await fake.waitFor(() => delivered().includes("success"));
    second.stop();
    await second.drain();
    expect(second.size()).toBe(0);
  });

  it("waits as long as GitHub's Retry-After asks before the next attempt", async () => {
    const outbox = newOutbox();
    fake.failNext({
      method: "POST",
      path: statusPath(),
      status: 429,
      body: { message: "You have exceeded a secondary rate limit." },
      headers: { "retry-after": "600" },
    });
    await setStatus(await writer(outbox), target, SUCCESS);
    expect(store.get(statusKey(target, "ci/test"))?.nextAttemptAt).toBe(new Date(clock + 600_000).toISOString());
    clock += 599_000;
    await outbox.drain();
    expect(statusRequests()).toHaveLength(1);
    clock += 1_000;
    await outbox.drain();
    expect(delivered()).toEqual(["success"]);
  });

  it("while GitHub is still down, a pass stops at the first failure and backs off", async () => {
    const outbox = newOutbox();
    const github = await writer(outbox);
    fake.failNext({ method: "POST", path: statusPath(), status: 502, times: 3 });
    await setStatus(github, target, PENDING);
    await setStatus(github, target, { ...PENDING, context: "ci/check" });
    clock += 5_000;
    await outbox.drain();
    expect(statusRequests()).toHaveLength(3); // two kept, one retried
    const retried = [statusKey(target, "ci/test"), statusKey(target, "ci/check")]
      .map((k) => store.get(k)!)
      .find((e) => e.attempts === 2)!;
    expect(retried.nextAttemptAt).toBe(new Date(clock + 15_000).toISOString());
  });

  it("gives a write up after a day of failures, and says so", async () => {
    const outbox = newOutbox();
    fake.failNext({ method: "POST", path: statusPath(), status: 502, times: 2 });
    await setStatus(await writer(outbox), target, SUCCESS);
    clock += OUTBOX_MAX_AGE_MS;
    await outbox.drain();
    expect(outbox.size()).toBe(0);
    expect(logged("kept GitHub write given up; GitHub may still show an older state")).toEqual([
      expect.objectContaining({ attempts: 2, status: 502 }),
    ]);
  });

  it("shows its size in /metrics", async () => {
    const outbox = newOutbox();
    fake.failNext({ method: "POST", path: statusPath(), status: 502 });
    await setStatus(await writer(outbox), target, SUCCESS);
    const metrics = createMetrics({ store: { counts: () => ({}) as never }, queue: { length: 0, running: 0 }, outbox });
    expect(await metrics.registry.metrics()).toMatch(/^pyci_github_outbox_size 1$/m);
  });
});
