import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPyciOctokit, type PyciOctokitOptions } from "../../src/github/create-octokit-class.js";
import { setStatus, type StatusUpdate } from "../../src/github/set-status.js";
import type { CommitTarget } from "../../src/github/types.js";
import { WriteLimiter } from "../../src/github/write-limiter.js";
import type { ReportWriter } from "../../src/github/write-or-keep.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";

/**
 * pyci's Octokit (Probot's, with pyci's retry, rate-limit, timeout and write
 * pacing policy) against the fake GitHub on loopback, with faults injected.
 * Waits are scaled down (retryAfterBaseMs) except where a test says otherwise.
 */

const APP_ID = 6161;
const SHA = "0123456789abcdef0123456789abcdef01234567";
const target = (repo: string): CommitTarget => ({ owner: "acme", repo, sha: SHA });
const STATUS: StatusUpdate = {
  context: "ci/test",
  state: "success",
  description: "12 tests passed",
  targetUrl: "https://ci.example.com/builds/1",
};
const SECONDARY_LIMIT = {
  message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
  documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
  status: "429",
};

describe("pyci's Octokit", () => {
  const privateKey = generateAppKey();
  let fake: FakeGitHub;
  const logLines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void logLines.push(line) });

  /** An installation's client, as Probot's app.auth(id) makes it, with pyci's Octokit class. */
  const github = async (installationId: number, options: PyciOctokitOptions = {}): Promise<ReportWriter> => {
    const probot = new Probot({
      appId: APP_ID,
      privateKey,
      baseUrl: fake.baseUrl,
      log,
      Octokit: createPyciOctokit({ retryAfterBaseMs: 20, ...options }),
    });
    return { octokit: await probot.auth(installationId), outbox: undefined, log };
  };
  const statusRequests = (repo: string) =>
    fake.requests.filter((r) => r.method === "POST" && r.path === `/repos/acme/${repo}/statuses/${SHA}`);
  const logged = (msg: string) =>
    logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);

  beforeAll(async () => {
    fake = await startFakeGitHub({ appId: APP_ID, privateKey });
  });
  afterAll(async () => {
    await fake?.stop();
  });
  afterEach(() => {
    expect(fake.violations).toEqual([]);
    logLines.length = 0;
  });

  it("retries a 502 and the status arrives", async () => {
    fake.failNext({ method: "POST", path: `/repos/acme/bad-gateway/statuses/${SHA}`, status: 502 });
    await setStatus(await github(91), target("bad-gateway"), STATUS);
    expect(statusRequests("bad-gateway").map((r) => r.status)).toEqual([502, 201]);
    expect(fake.statuses.filter((s) => s.repo === "bad-gateway").map((s) => s.body.state)).toEqual(["success"]);
  });

  it("gives up after 3 retries when GitHub stays down", async () => {
    fake.failNext({ method: "POST", path: `/repos/acme/down/statuses/${SHA}`, status: 503, times: 10 });
    await expect(setStatus(await github(91), target("down"), STATUS)).rejects.toMatchObject({ status: 503 });
    expect(statusRequests("down").map((r) => r.status)).toEqual([503, 503, 503, 503]);
  });

  it("does not retry what no retry changes (422)", async () => {
    fake.failNext({ method: "POST", path: `/repos/acme/invalid/statuses/${SHA}`, status: 422, times: 10 });
    await expect(setStatus(await github(91), target("invalid"), STATUS)).rejects.toMatchObject({ status: 422 });
    expect(statusRequests("invalid")).toHaveLength(1);
  });

  it("waits for Retry-After on a secondary rate limit (429), then retries", async () => {
    // real seconds here: Retry-After: 1 is waited for as GitHub means it
    fake.failNext({
      method: "POST",
      path: `/repos/acme/secondary/statuses/${SHA}`,
      status: 429,
      body: SECONDARY_LIMIT,
      headers: { "retry-after": "1" },
    });
    await setStatus(await github(91, { retryAfterBaseMs: 1000 }), target("secondary"), STATUS);
    expect(statusRequests("secondary").map((r) => r.status)).toEqual([429, 201]);
    expect(logged("GitHub rate limit hit; retrying after the wait GitHub asks for")).toEqual([
      expect.objectContaining({
        kind: "secondary",
        retryAfter: 1,
        retryCount: 0,
        method: "POST",
        route: "/repos/{owner}/{repo}/statuses/{sha}",
      }),
    ]);
  });

  it("waits until x-ratelimit-reset when the primary rate limit is used up (403), then retries", async () => {
    const reset = String(Math.floor(Date.now() / 1000) + 1);
    fake.failNext({
      method: "POST",
      path: `/repos/acme/primary/statuses/${SHA}`,
      status: 403,
      body: { message: "API rate limit exceeded for installation ID 91.", status: "403" },
      headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset },
    });
    await setStatus(await github(91), target("primary"), STATUS);
    expect(statusRequests("primary").map((r) => r.status)).toEqual([403, 201]);
    expect(logged("GitHub rate limit hit; retrying after the wait GitHub asks for")).toEqual([
      expect.objectContaining({ kind: "primary" }),
    ]);
  });

  it("does not wait in-process for a rate limit that lasts too long (the outbox takes over)", async () => {
    fake.failNext({
      method: "POST",
      path: `/repos/acme/long-limit/statuses/${SHA}`,
      status: 429,
      body: SECONDARY_LIMIT,
      headers: { "retry-after": "3600" },
    });
    await expect(setStatus(await github(91), target("long-limit"), STATUS)).rejects.toMatchObject({ status: 429 });
    expect(statusRequests("long-limit")).toHaveLength(1);
    expect(logged("GitHub rate limit hit; not retrying this request")).toEqual([
      expect.objectContaining({ retryAfter: 3600 }),
    ]);
  });

  it("stops waiting for a GitHub that hangs, and retries", async () => {
    const hung = fake.holdNext({ method: "POST", path: `/repos/acme/hung/statuses/${SHA}` });
    await setStatus(await github(91, { timeouts: { requestMs: 300 } }), target("hung"), STATUS);
    expect(hung.arrived()).toBe(1);
    // the hung request never got an answer; the retry did
    expect(statusRequests("hung").map((r) => r.status)).toEqual([201]);
  });

  it("stops waiting for a token request GitHub never answers (a write waits for its token), and retries", async () => {
    const hung = fake.holdNext({ method: "POST", path: "/app/installations/93/access_tokens" });
    await setStatus(await github(93, { timeouts: { requestMs: 300 } }), target("token-hung"), STATUS);
    expect(hung.arrived()).toBe(1);
    expect(fake.issuedTokens.filter((t) => t.installationId === 93)).toHaveLength(1);
    expect(statusRequests("token-hung").map((r) => r.status)).toEqual([201]);
  });

  it("sends a burst of 10 writes of an installation without waiting, then paces them", async () => {
    const waits: number[] = [];
    // a clock that stands still: the bucket never refills by itself, so the count is exact
    const limiter = new WriteLimiter({ now: () => 0, sleep: async (ms) => void waits.push(ms) });
    const writer = await github(91, { limiter });
    for (let i = 0; i < 10; i++) await setStatus(writer, target("burst"), { ...STATUS, context: `ci/${i}` });
    // reads are not paced
    await writer.octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/statuses", {
      owner: "acme",
      repo: "burst",
      ref: SHA,
    });
    expect(waits).toEqual([]);
    await setStatus(writer, target("burst"), { ...STATUS, context: "ci/10" });
    expect(waits).toEqual([1000]);
    expect(statusRequests("burst")).toHaveLength(11);
  });

  it("sends a new build's pending status and check run at once while the installation's other writes are paced", async () => {
    const waits: number[] = [];
    const limiter = new WriteLimiter({ now: () => 0, sleep: async (ms) => void waits.push(ms) });
    const writer = await github(94, { limiter });
    for (let i = 0; i < 10; i++) await setStatus(writer, target("opening"), { ...STATUS, context: `ci/${i}` });
    await setStatus(writer, target("opening"), { ...STATUS, context: "ci/new", state: "pending" });
    await writer.octokit.request("POST /repos/{owner}/{repo}/check-runs", {
      owner: "acme",
      repo: "opening",
      name: "pyci",
      head_sha: SHA,
      status: "queued",
    });
    expect(waits).toEqual([]);
    // a final status is not an opening write: it waits for its token
    await setStatus(writer, target("opening"), { ...STATUS, context: "ci/new" });
    expect(waits).toHaveLength(1);
  });

  it("sends an installation's writes one at a time, and never makes another installation wait", async () => {
    const limiter = new WriteLimiter();
    const [a, b] = [await github(91, { limiter }), await github(92, { limiter })];
    const held = fake.holdNext({ method: "POST", path: `/repos/acme/alpha/statuses/${SHA}` });
    const a1 = setStatus(a, target("alpha"), { ...STATUS, context: "ci/check" });
    const a2 = setStatus(a, target("alpha"), { ...STATUS, context: "ci/test" });
    await held.waitForArrival();
    // installation 92 writes while installation 91's first write is open at GitHub…
    await setStatus(b, target("beta"), STATUS);
    expect(statusRequests("beta").map((r) => r.status)).toEqual([201]);
    // …whose second write waits for its first
    expect(held.arrived()).toBe(1);
    expect(statusRequests("alpha")).toEqual([]);
    held.release();
    await Promise.all([a1, a2]);
    expect(fake.statuses.filter((s) => s.repo === "alpha").map((s) => s.body.context)).toEqual(["ci/check", "ci/test"]);
  });

  it("holds reads to 10 at once, but a new build's pending status goes out past them", async () => {
    const writer = await github(95);
    const path = `/repos/acme/reads/commits/${SHA}/statuses`;
    const held = fake.holdNext({ method: "GET", path, times: 11 });
    const read = () =>
      writer.octokit.request("GET /repos/{owner}/{repo}/commits/{ref}/statuses", {
        owner: "acme",
        repo: "reads",
        ref: SHA,
      });
    const reads = Array.from({ length: 11 }, read);
    await held.waitForArrival(10);
    // the pending status does not queue behind the reads GitHub has not answered…
    await setStatus(writer, target("reads"), { ...STATUS, state: "pending" });
    expect(statusRequests("reads").map((r) => r.status)).toEqual([201]);
    // …while the 11th read still waits for one of the 10 to end
    expect(held.arrived()).toBe(10);
    held.release();
    await Promise.all(reads);
    expect(held.arrived()).toBe(11);
  });
});
