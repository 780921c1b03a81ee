import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probot, ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BuildDeps } from "../../src/builds/build-deps.js";
import { BuildQueue } from "../../src/builds/build-queue.js";
import type { BuildRequest } from "../../src/model/build-request.js";
import { MAX_ATTEMPTS, resumeBuilds } from "../../src/builds/resume-builds.js";
import { settleInterrupted } from "../../src/builds/settle-interrupted.js";
import type { Config } from "../../src/config.js";
import { INTERRUPTED } from "../../src/report/stop-text.js";
import { BuildStore, newBuildId, type BuildRecord, type BuildState } from "../../src/store/build-store.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, type StatusRecord } from "../support/fake-github.js";

/** One request, one answer: the recovery's own retries are under test, not Octokit's. */
const PlainOctokit = ProbotOctokit.defaults((options: Record<string, unknown> = {}) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options.throttle as object | undefined), enabled: false },
}));

const APP_ID = 31;
const INSTALLATION = 808;
const OWNER = "acme";
const REPO = "widgets";
const privateKey = generateAppKey();

let fake: FakeGitHub;
let dataDir: string;
let store: BuildStore;
let deps: BuildDeps;
let shaCounter = 0;

const buildUrl = (id: string) => `https://ci.example.com/builds/${id}`;
const nextSha = () => (++shaCounter).toString(16).padStart(40, "0");

async function depsFor(baseUrl: string): Promise<BuildDeps> {
  const probot = new Probot({ appId: APP_ID, privateKey, baseUrl, Octokit: PlainOctokit, logLevel: "fatal" });
  await probot.load(() => undefined); // Probot's log exists once it is initialized
  return {
    config: { concurrency: 1 } as Config,
    store,
    queue: new BuildQueue(1),
    auth: "installation",
    octokitFor: (id) => probot.auth(id),
    outbox: undefined,
    log: probot.log,
    secrets: [],
    buildUrl,
    executor: { execute: () => Promise.reject(new Error("these tests run no build")) },
  };
}

/** A build as a killed server left it: recorded, its check run created on GitHub (and started, when running). */
async function interrupted(
  state: BuildState,
  options: { pipeline?: "pr" | "docs"; sha?: string; checkRun?: "stored" | "lost" | "none"; request?: boolean } = {},
): Promise<BuildRecord> {
  const sha = options.sha ?? nextSha();
  const pipeline = options.pipeline ?? "pr";
  const request: BuildRequest = {
    pipeline,
    owner: OWNER,
    repo: REPO,
    sha,
    event: "pull_request.opened",
    deliveryId: `d-${sha.slice(-4)}`,
    installationId: INSTALLATION,
    sshUrl: "git@github.com:acme/widgets.git",
    cloneUrl: "https://github.com/acme/widgets.git",
    prNumber: 3,
  };
  const id = newBuildId();
  let checkRunId: number | undefined;
  if ((options.checkRun ?? "stored") !== "none") {
    const octokit = await deps.octokitFor(INSTALLATION);
    const { data } = await octokit.rest.checks.create({
      owner: OWNER,
      repo: REPO,
      name: pipeline === "docs" ? "pyci docs" : "pyci",
      head_sha: sha,
      status: state === "running" ? "in_progress" : "queued",
      external_id: id,
      details_url: buildUrl(id),
      output: { title: "Queued", summary: "Queued" },
    });
    if (options.checkRun !== "lost") checkRunId = data.id;
  }
  return store.create({
    id,
    owner: OWNER,
    repo: REPO,
    sha,
    event: request.event,
    pipeline,
    deliveryId: request.deliveryId,
    state,
    createdAt: new Date(Date.now() - 60_000).toISOString(),
    ...(state === "running" ? { startedAt: new Date(Date.now() - 30_000).toISOString() } : {}),
    steps:
      state === "running"
        ? [{ name: "checkout", state: "success", summary: "Checked out", exitCode: 0, durationMs: 900 }]
        : [],
    ...(checkRunId !== undefined ? { checkRunId } : {}),
    ...(options.request === false ? {} : { request }),
  });
}

const latest = (sha: string, context: string): StatusRecord | undefined =>
  fake.statuses.filter((s) => s.sha === sha && s.body.context === context).at(-1);
const run = (id: string) => fake.checkRuns.find((r) => r.fields.external_id === id);

beforeAll(async () => {
  fake = await startFakeGitHub({ appId: APP_ID, privateKey });
});
afterAll(() => fake.stop());

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), "pyci-recover-"));
  store = new BuildStore(dataDir);
  deps = await depsFor(fake.baseUrl);
});
afterEach(() => {
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
  expect(fake.violations).toEqual([]);
  expect(fake.unexpected.map((r) => `${r.method} ${r.path}`)).toEqual([]);
});

describe("resumeBuilds", () => {
  it("queues interrupted builds again, supersedes older heads of a pull request, and settles builds started too often", async () => {
    const crashy = await interrupted("running");
    store.save({ ...crashy, attempts: MAX_ATTEMPTS });
    const older = await interrupted("running");
    const newer = await interrupted("queued", { checkRun: "lost" });
    store.save({ ...newer, createdAt: new Date(Date.now() - 1_000).toISOString(), attempts: 1 });
    deps.queue.pause(); // what runs them is not under test: only that they are queued

    const report = await resumeBuilds(deps, { retryDelaysMs: [] });

    expect(report).toEqual({ requeued: [newer.id], superseded: [older.id], settled: [crashy.id], givenUp: [] });
    // started too often: settled as error, like settleInterrupted does
    expect(latest(crashy.sha, "ci/test")?.body).toMatchObject({ state: "error", description: INTERRUPTED });
    expect(store.get(crashy.id)!.state).toBe("error");
    // an older head of PR 3: superseded by the newer one
    for (const context of ["ci/check", "ci/test"]) {
      expect(latest(older.sha, context)?.body).toMatchObject({
        state: "error",
        description: `Superseded by ${newer.sha.slice(0, 7)}`,
      });
    }
    expect(run(older.id)!.fields).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(store.get(older.id)).toMatchObject({ state: "error", error: `Superseded by ${newer.sha.slice(0, 7)}` });
    // the newest: queued again, pending again, its lost check run found rather than doubled
    expect(deps.queue.length).toBe(1);
    await eventually(() => store.get(newer.id)?.checkRunId !== undefined);
    expect(store.get(newer.id)).toMatchObject({ state: "queued", steps: [], checkRunId: run(newer.id)!.id });
    expect(fake.checkRuns.filter((r) => r.fields.external_id === newer.id)).toHaveLength(1);
    expect(latest(newer.sha, "ci/test")?.body).toMatchObject({ state: "pending", description: "Queued" });
  });
});

describe("resumeBuilds with builds that go on on workers (a detached executor)", () => {
  it("follows a build on from what was applied: no new attempt, no second queued report, no step or log twice", async () => {
    const build = await interrupted("running");
    store.save({ ...build, attempts: 1, streamApplied: "1700000000000-4" });
    const checkoutLog = store.openLog(build.id, "checkout", (text) => text);
    checkoutLog.write("cloned the commit\n");
    checkoutLog.close();
    const partial = store.openLog(build.id, "test", (text) => text);
    partial.write("first half of the test output\n");
    partial.close();
    const statusesBefore = fake.statuses.length;
    const resumedFrom: (string | undefined)[] = [];
    deps.executor = {
      detached: true,
      async execute(executed, sinks) {
        resumedFrom.push(executed.resumeFrom);
        // the stream after the mark: the whole test step, then the results of every step
        sinks.onStepStart?.("test");
        const log = sinks.openLog("test", (text) => text);
        log.write("first half of the test output\nsecond half\n");
        log.close();
        const test = { name: "test", state: "success", summary: "2 tests passed", exitCode: 0, durationMs: 5 } as const;
        sinks.applied?.("1700000000000-9");
        sinks.onStepEnd({ ...test });
        const checkout = { name: "checkout", state: "success", summary: "Checked out", exitCode: 0, durationMs: 900 };
        return { results: [checkout, { ...test }], tidy: async () => undefined };
      },
    };

    const report = await resumeBuilds(deps, { retryDelaysMs: [] });
    expect(report.requeued).toEqual([build.id]);
    await deps.queue.onIdle();

    const after = store.get(build.id)!;
    expect(resumedFrom).toEqual(["1700000000000-4"]);
    expect(after).toMatchObject({ state: "success", attempts: 1, streamApplied: "1700000000000-9" });
    expect(after.steps.map((step) => step.name)).toEqual(["checkout", "test"]);
    expect(await store.readLog(build.id, "checkout")).toBe("cloned the commit\n");
    expect(await store.readLog(build.id, "test")).toBe("first half of the test output\nsecond half\n");
    // GitHub heard no "Queued" again: only the final statuses
    const since = fake.statuses.slice(statusesBefore).filter((s) => s.sha === build.sha);
    expect(since.map((s) => s.body.state)).not.toContain("pending");
    expect(latest(build.sha, "ci/test")?.body.state).toBe("success");
    expect(run(build.id)!.fields).toMatchObject({ status: "completed", conclusion: "success" });
  });
});

describe("resumeBuilds superseding a build that goes on on a worker", () => {
  it("tells the executor to stop it: its worker would otherwise build it to the end, unreported", async () => {
    const older = await interrupted("running");
    store.save({ ...older, attempts: 1, streamApplied: "1700000000000-4" });
    const newer = await interrupted("queued");
    store.save({ ...newer, createdAt: new Date(Date.now() - 1_000).toISOString(), attempts: 1 });
    const stopped: string[] = [];
    deps.executor = {
      detached: true,
      execute: () => new Promise(() => undefined),
      async stop(buildId) {
        stopped.push(buildId);
      },
    };
    deps.queue.pause();

    const report = await resumeBuilds(deps, { retryDelaysMs: [] });

    expect(report.superseded).toEqual([older.id]);
    expect(stopped).toEqual([older.id]);
  });
});

async function eventually(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(condition()).toBe(true);
}

describe("settleInterrupted", () => {
  it("settles running and queued builds as error on GitHub, then in the store; leaves finished builds alone", async () => {
    const running = await interrupted("running");
    const queued = await interrupted("queued", { pipeline: "docs" });
    const done = await interrupted("running");
    store.save({ ...done, state: "success", finishedAt: new Date().toISOString() }); // it finished before the restart
    const statusesBefore = fake.statuses.length;

    const report = await settleInterrupted(deps, { retryDelaysMs: [] });

    expect(report.settled.sort()).toEqual([running.id, queued.id].sort());
    expect(report.givenUp).toEqual([]);
    for (const context of ["ci/check", "ci/test"]) {
      expect(latest(running.sha, context)?.body).toEqual({
        context,
        state: "error",
        description: INTERRUPTED,
        target_url: buildUrl(running.id),
      });
    }
    expect(latest(queued.sha, "ci/docs")?.body).toMatchObject({ state: "error", description: INTERRUPTED });
    expect(fake.statuses.length - statusesBefore).toBe(3);
    for (const build of [running, queued]) {
      expect(run(build.id)!.fields).toMatchObject({ status: "completed", conclusion: "cancelled" });
      expect((run(build.id)!.fields.output as { summary: string }).summary).toContain(INTERRUPTED);
    }
    expect(run(done.id)!.fields.status).toBe("in_progress");

    const stored = store.get(running.id)!;
    expect(stored).toMatchObject({ state: "error", error: INTERRUPTED });
    expect(stored.finishedAt).toBeDefined();
    expect(stored.steps.map((s) => [s.name, s.state])).toEqual([
      ["checkout", "success"],
      ["pyci", "error"],
    ]);
    expect(store.get(queued.id)!.state).toBe("error");
    expect(store.get(done.id)!.state).toBe("success");
    expect(store.unfinished()).toEqual([]);
  });

  it("takes the builds at the call: a build accepted afterwards is not touched", async () => {
    const old = await interrupted("running");
    const settling = settleInterrupted(deps, { retryDelaysMs: [] });
    const fresh = await interrupted("queued");
    expect((await settling).settled).toEqual([old.id]);
    expect(store.get(fresh.id)!.state).toBe("queued");
    expect(run(fresh.id)!.fields.status).toBe("queued");
  });

  it("finds a check run whose id the store never got, by the build id", async () => {
    const lost = await interrupted("queued", { checkRun: "lost" });
    expect(lost.checkRunId).toBeUndefined();
    await settleInterrupted(deps, { retryDelaysMs: [] });
    expect(run(lost.id)!.fields).toMatchObject({ status: "completed", conclusion: "cancelled" });
    expect(store.get(lost.id)).toMatchObject({ state: "error", checkRunId: run(lost.id)!.id });
  });

  it("leaves the statuses to a newer build of the same commit, and still completes the old check run", async () => {
    const old = await interrupted("running");
    store.create({
      ...old,
      id: newBuildId(),
      state: "success",
      createdAt: new Date().toISOString(),
      finishedAt: new Date().toISOString(),
    });
    await settleInterrupted(deps, { retryDelaysMs: [] });
    expect(fake.statuses.filter((s) => s.sha === old.sha)).toEqual([]);
    expect(run(old.id)!.fields.conclusion).toBe("cancelled");
    expect(store.get(old.id)!.state).toBe("error");
  });

  it("tries again later while GitHub fails, and gives up on what GitHub refuses for good", async () => {
    const flaky = await interrupted("running");
    fake.failNext({ method: "POST", path: `/repos/${OWNER}/${REPO}/statuses/${flaky.sha}`, status: 502, times: 2 });
    const report = await settleInterrupted(deps, { retryDelaysMs: [20, 20, 20] });
    expect(report.settled).toEqual([flaky.id]);
    expect(fake.requests.filter((r) => r.path.endsWith(flaky.sha) && r.status === 502)).toHaveLength(2);
    expect(latest(flaky.sha, "ci/test")?.body.state).toBe("error");
    expect(store.get(flaky.id)!.state).toBe("error");

    const gone = await interrupted("queued");
    fake.failNext({
      method: "PATCH",
      path: `/repos/${OWNER}/${REPO}/check-runs/${gone.checkRunId}`,
      status: 404,
      times: 5,
    });
    const refused = await settleInterrupted(deps, { retryDelaysMs: [20, 20, 20] });
    expect(refused).toEqual({ settled: [], givenUp: [gone.id] });
    expect(fake.requests.filter((r) => r.method === "PATCH" && r.path.endsWith(`/${gone.checkRunId}`))).toHaveLength(1);
    expect(store.get(gone.id)!.state).toBe("error");
  });

  it("keeps a build unfinished while GitHub is unreachable, and records it as error after the last retry", async () => {
    const build = await interrupted("running");
    deps = await depsFor("http://127.0.0.1:9/api/v3");
    const settling = settleInterrupted(deps, { retryDelaysMs: [150] });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(store.get(build.id)!.state).toBe("running"); // another restart would still find it
    expect(await settling).toEqual({ settled: [], givenUp: [build.id] });
    expect(store.get(build.id)).toMatchObject({ state: "error", error: INTERRUPTED });
  });

  it("records a build without its request as error: there is nothing to report with", async () => {
    const bare = await interrupted("queued", { request: false, checkRun: "none" });
    const requests = fake.requests.length;
    expect(await settleInterrupted(deps, { retryDelaysMs: [] })).toEqual({ settled: [], givenUp: [bare.id] });
    expect(fake.requests.length).toBe(requests);
    expect(store.get(bare.id)!.state).toBe("error");
  });

  it("does nothing when nothing was interrupted", async () => {
    const requests = fake.requests.length;
    expect(await settleInterrupted(deps)).toEqual({ settled: [], givenUp: [] });
    expect(fake.requests.length).toBe(requests);
  });
});
