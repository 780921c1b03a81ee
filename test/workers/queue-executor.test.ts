import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildExecutor, BuildSinks, Executed, ExecutedBuild } from "../../src/builds/build-executor.js";
import type { Octokit } from "../../src/github/types.js";
import type { BuildRequest } from "../../src/model/build-request.js";
import { defaultRepoConfig } from "../../src/pipeline/repo-config.js";
import type { StepResult } from "../../src/pipeline/types.js";
import { buildQueueName, type BuildJob } from "../../src/workers/build-job.js";
import { buildStreamKey, CANCEL_CHANNEL, encodeEvent, type BuildStreamEvent } from "../../src/workers/build-stream.js";
import { followBuildStream } from "../../src/workers/follow-build-stream.js";
import { handToWorkers } from "../../src/workers/hand-to-workers.js";
import { recordLabelSet } from "../../src/workers/label-sets.js";
import { lostJob } from "../../src/workers/lost-job.js";
import { startWorker, type RunningWorker } from "../../src/workers/start-worker.js";
import { redisMissing, startRedis, type TestRedis } from "../support/redis-server.js";

const missing = redisMissing();
if (missing) console.warn(`skipped: ${missing}`);

const SERVER_SECRET = "server-only-secret-value";
const CLONE_TOKEN = `ghs_${"x".repeat(36)}`;
/** A docs archive of several chunks (256 KiB each) and a part. */
const ARCHIVE = randomBytes(700 * 1024 + 123);
/** What the server asked GitHub for each clone token. */
const minted: unknown[] = [];
/** An installation's Octokit as far as minting a token goes. */
const octokitFor = async () =>
  ({
    request: async (route: string, params: Record<string, unknown>) => {
      minted.push({ route, ...params });
      if ((params.repositories as string[] | undefined)?.includes("https-denied"))
        throw new Error("This installation has been suspended");
      return { data: { token: CLONE_TOKEN } };
    },
  }) as unknown as Octokit;
const log = pino({ level: "silent" });
/** The test Redis's own directory (removed with it): the fake builds' files go there too. */
let redisDir: string;

/** A worker's executor that runs no pipeline: each build says hello in a `test` step (or waits to be stopped). */
function fakeExecutor(ran: string[]): BuildExecutor {
  return {
    async execute(build: ExecutedBuild, sinks: BuildSinks): Promise<Executed> {
      ran.push(build.buildId);
      const attempt = ran.filter((id) => id === build.buildId).length;
      const config = await build.repoConfig;
      sinks.onStepStart?.("test");
      const out = sinks.openLog("test", (text) => text);
      out.write(`hello from ${build.request.repo} (python ${config.python ?? "default"}) ${SERVER_SECRET}\n`);
      if (build.request.repo === "handback") out.write(`attempt ${attempt}\n`);
      if (build.request.repo === "https")
        out.write(`clone token as minted: ${(await build.cloneToken()) === CLONE_TOKEN}\n`);
      if (build.request.repo === "https-denied")
        out.write(`no clone token: ${await build.cloneToken().catch((error: Error) => error.message)}\n`);
      if (build.request.repo === "slow" || (build.request.repo === "handback" && attempt === 1))
        await new Promise((resolve) => build.signal?.addEventListener("abort", resolve, { once: true }));
      out.close();
      const result: StepResult = {
        name: "test",
        state: build.signal?.aborted ? "error" : "success",
        summary: build.signal?.aborted ? "cancelled" : "1 test passed",
        exitCode: 0,
        durationMs: 1,
      };
      if (build.request.repo === "docs") {
        const path = join(mkdtempSync(join(redisDir, "archive-")), "docs.tar.gz");
        writeFileSync(path, ARCHIVE);
        result.artifacts = [{ name: "docs.tar.gz", path, contentType: "application/gzip" }];
      }
      sinks.onStepEnd(result);
      // as localExecutor does, before the build's directories go
      if (result.artifacts) result.artifacts = await Promise.all(result.artifacts.map(sinks.keepArtifact));
      return { results: [result], tidy: async () => undefined };
    },
  };
}

function request(repo: string): BuildRequest {
  return {
    pipeline: "pr",
    owner: "o",
    repo,
    sha: "a".repeat(40),
    event: "pull_request.opened",
    deliveryId: "d",
    sshUrl: "git@example.com:o/r.git",
    cloneUrl: "https://example.com/o/r.git",
    installationId: 7,
  };
}

/** Sinks that remember what the server would store. */
function recording() {
  const logs: string[] = [];
  const ended: StepResult[] = [];
  const kept = new Map<string, Buffer | string>();
  let restarts = 0;
  const sinks: BuildSinks = {
    keepArtifact: async (artifact) => {
      try {
        kept.set(artifact.name, readFileSync(artifact.path));
      } catch (error) {
        kept.set(artifact.name, (error as Error).message);
      }
      return { ...artifact, path: `/kept/${artifact.name}` };
    },
    openLog: (_step, mask) => ({ write: (text) => logs.push(mask(text)), close: () => undefined }),
    onStepEnd: (result) => ended.push(result),
    restart: () => {
      restarts++;
      logs.length = 0;
      ended.length = 0;
    },
  };
  return { logs, ended, kept, sinks, restarts: () => restarts };
}

describe.skipIf(missing)("builds handed to a worker through Redis", () => {
  let redis: TestRedis;
  let worker: RunningWorker;
  let server: ReturnType<typeof handToWorkers>;
  const ran: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    redisDir = redis.dir;
    server = handToWorkers({ redisUrl: redis.url, dataDir: redis.dir, secrets: [SERVER_SECRET], log, octokitFor });
    worker = await startWorker({
      redisUrl: redis.url,
      name: "w1",
      labels: [],
      concurrency: 2,
      lockMs: 30_000,
      executor: fakeExecutor(ran),
      log,
    });
  });
  afterAll(async () => {
    await worker?.close(1000);
    await server?.close();
    await redis?.stop();
  });

  const build = (id: string, repo: string, signal?: AbortSignal): ExecutedBuild => ({
    request: request(repo),
    buildId: id,
    repoConfig: Promise.resolve({ ...defaultRepoConfig(), python: "python3.12" }),
    testDurations: new Map(),
    cloneToken: () => Promise.reject(new Error("no token on workers")),
    log,
    ...(signal ? { signal } : {}),
  });

  it("runs the build on the worker and brings back its log, step ends and results, masked of the server's secrets", async () => {
    const { logs, ended, sinks } = recording();
    const { results } = await server.executor.execute(build("build-one", "r"), sinks);
    expect(results.map((r) => [r.name, r.state, r.summary])).toEqual([["test", "success", "1 test passed"]]);
    // the same objects: runBuild adds to the record the results it was not told of as steps ended
    expect(results).toHaveLength(ended.length);
    results.forEach((result, i) => expect(result).toBe(ended[i]));
    expect(logs.join("")).toBe("hello from r (python python3.12) ***\n");
    expect(ran).toEqual(["build-one"]);
    expect(server.problem()).toBeUndefined();
    // the worker lets the stream expire, a day later
    const admin = new Redis(redis.url);
    try {
      expect(await admin.ttl(buildStreamKey("build-one"))).toBeGreaterThan(3600);
    } finally {
      admin.disconnect();
    }
  });

  it("queues a build once: handed over again (a restarted server), its results are read back, not run again", async () => {
    const again = recording();
    const { results } = await server.executor.execute(build("build-one", "r"), again.sinks);
    expect(results.map((r) => r.summary)).toEqual(["1 test passed"]);
    expect(again.logs.join("")).toContain("hello from r");
    expect(ran).toEqual(["build-one"]);
  });

  it("removes a build's stream once its results are reported (tidy), not before", async () => {
    const { sinks } = recording();
    const { tidy } = await server.executor.execute(build("build-tidy", "r"), sinks);
    const admin = new Redis(redis.url);
    try {
      expect(await admin.exists(buildStreamKey("build-tidy"))).toBe(1);
      await tidy();
      expect(await admin.exists(buildStreamKey("build-tidy"))).toBe(0);
    } finally {
      admin.disconnect();
    }
  });

  it("stops a build on the worker when the server supersedes it (the cancel channel)", async () => {
    const stop = new AbortController();
    const { logs, sinks } = recording();
    const executing = server.executor.execute(build("build-slow", "slow", stop.signal), sinks);
    await until(() => logs.length > 0);
    stop.abort({ kind: "superseded", by: "b".repeat(40) });
    await executing;
    // the worker's build saw its signal: it ends and sends its results, which the stream keeps
    const after = recording();
    const { results } = await server.executor.execute(build("build-slow", "slow"), after.sinks);
    expect(results.map((r) => r.summary)).toEqual(["cancelled"]);
  });

  it("gets a worker a clone token scoped to the repository, never readable in Redis", async () => {
    // every command Redis runs meanwhile, with its arguments
    const commands: string[] = [];
    const monitor = await new Redis(redis.url).monitor();
    monitor.on("monitor", (_time: string, args: string[]) => commands.push(args.join(" ")));
    try {
      const { logs, sinks } = recording();
      await server.executor.execute(build("build-https", "https"), sinks);
      expect(logs.join("")).toContain("clone token as minted: true");
    } finally {
      monitor.disconnect();
    }
    expect(minted).toEqual([
      {
        route: "POST /app/installations/{installation_id}/access_tokens",
        installation_id: 7,
        repositories: ["https"],
        permissions: { contents: "read" },
      },
    ]);
    expect(commands.some((c) => /^lpush pyci:build-token:build-https /i.test(c))).toBe(true);
    expect(commands.filter((c) => c.includes(CLONE_TOKEN))).toEqual([]);
  });

  it("tells the worker at once why the server could not mint a clone token, instead of letting it wait", async () => {
    const { logs, sinks } = recording();
    await server.executor.execute(build("build-https-denied", "https-denied"), sinks);
    expect(logs.join("")).toContain(
      "no clone token: the server could not mint a clone token: This installation has been suspended",
    );
  });

  it("brings a docs archive back in chunks, whole, and the results name it where the server keeps it", async () => {
    const { kept, sinks } = recording();
    const {
      results: [result],
    } = await server.executor.execute(build("build-docs", "docs"), sinks);
    expect(Buffer.isBuffer(kept.get("docs.tar.gz"))).toBe(true);
    expect((kept.get("docs.tar.gz") as Buffer).equals(ARCHIVE)).toBe(true);
    expect(result!.artifacts).toEqual([
      { name: "docs.tar.gz", path: "/kept/docs.tar.gz", contentType: "application/gzip" },
    ]);
    // nothing left in the spool
    expect(readdirSync(join(redis.dir, "spool"))).toEqual([]);
  });

  it("stops a build it no longer follows (superseded while the server was away): out of any queue, and its worker told", async () => {
    const admin = new Redis(redis.url);
    const listener = new Redis(redis.url);
    const queue = new Queue(buildQueueName(["nobody-has-this"]), { connection: admin });
    try {
      // a build an earlier server process queued for a label set no worker serves
      await recordLabelSet(admin, ["nobody-has-this"]);
      await queue.add("build", { buildId: "build-orphan" } as BuildJob, { jobId: "build-orphan" });
      const told: string[] = [];
      await listener.subscribe(CANCEL_CHANNEL);
      listener.on("message", (_channel: string, id: string) => told.push(id));

      await server.executor.stop!("build-orphan");

      expect(await queue.getJobState("build-orphan")).toBe("unknown");
      for (let i = 0; i < 100 && told.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(told).toEqual(["build-orphan"]);
    } finally {
      await queue.close();
      admin.disconnect();
      listener.disconnect();
    }
  });

  it("removes a superseded build that no worker has taken yet", async () => {
    await worker.close(1000);
    const stop = new AbortController();
    const { sinks } = recording();
    const executing = server.executor.execute(build("build-unstarted", "r", stop.signal), sinks);
    const admin = new Redis(redis.url);
    try {
      const queue = new Queue(buildQueueName(), { connection: admin });
      for (let state = ""; state !== "waiting"; ) state = await queue.getJobState("build-unstarted");
      stop.abort({ kind: "superseded", by: "c".repeat(40) });
      await executing;
      for (let state = ""; state !== "unknown"; ) state = await queue.getJobState("build-unstarted");
      await queue.close();
    } finally {
      admin.disconnect();
      worker = await startWorker({
        redisUrl: redis.url,
        name: "w1-again",
        labels: [],
        concurrency: 2,
        lockMs: 30_000,
        executor: fakeExecutor(ran),
        log,
      });
    }
    expect(ran).not.toContain("build-unstarted");
  });

  it("starts the build over when a second worker takes it: only the last attempt's steps count", async () => {
    const admin = new Redis(redis.url);
    const step = (summary: string): StepResult => ({
      name: "test",
      state: "success",
      summary,
      exitCode: 0,
      durationMs: 1,
    });
    const events: BuildStreamEvent[] = [
      { t: "taken", worker: "lost-one", attempt: 1 },
      { t: "start", step: "test" },
      { t: "log", step: "test", text: "first attempt\n" },
      { t: "end", result: step("first") },
      { t: "taken", worker: "w2", attempt: 2 },
      { t: "start", step: "test" },
      { t: "log", step: "test", text: "second attempt\n" },
      { t: "end", result: step("second") },
      { t: "done", results: [step("second")] },
    ];
    try {
      for (const event of events) await admin.xadd(buildStreamKey("build-twice"), "*", ...encodeEvent(event));
      const { logs, ended, sinks, restarts } = recording();
      const results = await followBuildStream({
        redis: admin,
        buildId: "build-twice",
        sinks,
        mask: (text) => text,
        onTaken: () => undefined,
        lost: async () => undefined,
        onTokenRequest: async () => undefined,
        spoolDir: join(redisDir, "spool"),
      });
      expect(results.map((r) => r.summary)).toEqual(["second"]);
      expect(ended.map((r) => r.summary)).toEqual(["second"]);
      expect(logs).toEqual(["second attempt\n"]);
      expect(restarts()).toBe(1);
    } finally {
      admin.disconnect();
    }
  });

  it("reads on from the last entry a restarted server had applied: nothing before it twice", async () => {
    const admin = new Redis(redis.url);
    const key = buildStreamKey("build-resumed");
    const step = (name: string, summary: string): StepResult => ({
      name,
      state: "success",
      summary,
      exitCode: 0,
      durationMs: 1,
    });
    const add = (event: BuildStreamEvent) => admin.xadd(key, "*", ...encodeEvent(event));
    try {
      // 1. the first server process applies the checkout, sees half the test step, and stops
      await add({ t: "taken", worker: "w", attempt: 1 });
      await add({ t: "start", step: "checkout" });
      await add({ t: "log", step: "checkout", text: "cloned\n" });
      await add({ t: "end", result: step("checkout", "Checked out") });
      await add({ t: "start", step: "test" });
      await add({ t: "log", step: "test", text: "first half\n" });
      const first = recording();
      const positions: string[] = [];
      const stop = new AbortController();
      const following = followBuildStream({
        redis: admin.duplicate(),
        buildId: "build-resumed",
        sinks: { ...first.sinks, applied: (position) => positions.push(position) },
        mask: (text) => text,
        onTaken: () => undefined,
        lost: async () => undefined,
        onTokenRequest: async () => undefined,
        spoolDir: join(redisDir, "spool"),
        signal: stop.signal,
      });
      await until(() => first.logs.includes("first half\n"));
      stop.abort({ kind: "shutdown" });
      await following;
      expect(first.ended.map((r) => r.name)).toEqual(["checkout"]);
      expect(positions).toHaveLength(1);

      // 2. the worker goes on meanwhile; the next server process reads on from the checkout's end
      await add({ t: "log", step: "test", text: "second half\n" });
      await add({ t: "end", result: step("test", "1 test passed") });
      await add({ t: "done", results: [step("checkout", "Checked out"), step("test", "1 test passed")] });
      const second = recording();
      const results = await followBuildStream({
        redis: admin,
        buildId: "build-resumed",
        sinks: second.sinks,
        mask: (text) => text,
        onTaken: () => undefined,
        lost: async () => undefined,
        onTokenRequest: async () => undefined,
        spoolDir: join(redisDir, "spool"),
        from: positions[0]!,
      });
      expect(second.logs).toEqual(["first half\n", "second half\n"]);
      expect(second.ended.map((r) => r.name)).toEqual(["test"]);
      expect(second.restarts()).toBe(0);
      expect(results.map((r) => r.name)).toEqual(["checkout", "test"]);
    } finally {
      admin.disconnect();
    }
  });

  it("ends a build whose worker was lost too often with words a user understands", async () => {
    const admin = new Redis(redis.url);
    const name = "pyci-test-stalled";
    const queue = new Queue(name, { connection: admin });
    const taker = new Worker(name, null, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }) });
    try {
      // as BullMQ leaves a job that stalled once more than a worker's maxStalledCount
      await queue.add("build", {}, { jobId: "build-stalled" });
      const job = await taker.getNextJob("lock");
      await job!.moveToFailed(new Error("job stalled more than allowable limit"), "lock");
      await admin.hset(`bull:${name}:build-stalled`, "stc", 3);
      expect(await lostJob(queue, "build-stalled")).toBe(
        "No worker finished this build: its worker was lost 3 times (killed, or its host lost). Look at the workers' logs for build build-stalled, then re-run it.",
      );
      expect(await lostJob(queue, "build-never-queued")).toMatch(
        /^No worker finished this build: its job is gone from Redis/,
      );
      await queue.add("build", {}, { jobId: "build-waiting" });
      expect(await lostJob(queue, "build-waiting")).toBeUndefined();
    } finally {
      await taker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      admin.disconnect();
    }
  });

  it("hands a build back when its worker stops (SIGTERM past the grace): another worker runs it from the start", async () => {
    await worker.close(1000);
    const leaving = await startWorker({
      redisUrl: redis.url,
      name: "leaving",
      concurrency: 1,
      lockMs: 30_000,
      executor: fakeExecutor(ran),
      log,
    });
    const { logs, sinks, restarts } = recording();
    const executing = server.executor.execute(build("build-handback", "handback"), sinks);
    await until(() => logs.some((line) => line.includes("attempt 1")));
    worker = await startWorker({
      redisUrl: redis.url,
      name: "staying",
      concurrency: 1,
      lockMs: 30_000,
      executor: fakeExecutor(ran),
      log,
    });
    await leaving.close(0);
    const { results } = await executing;
    expect(results.map((r) => r.summary)).toEqual(["1 test passed"]);
    expect(restarts()).toBe(1);
    expect(logs.join("")).toContain("attempt 2");
    expect(logs.join("")).not.toContain("attempt 1");
  });

  it("ends the build with why when its job is lost from Redis, instead of waiting for ever", async () => {
    const { logs, sinks } = recording();
    const executing = server.executor.execute(build("build-lost", "slow"), sinks);
    await until(() => logs.length > 0);
    const admin = new Redis(redis.url);
    try {
      const queue = new Queue(buildQueueName(), { connection: admin });
      await queue.obliterate({ force: true });
      await queue.close();
      // a `pyci` step in error says why: the build ends `error` with it, as a result, not a crash
      const { results } = await executing;
      expect(results).toEqual([
        expect.objectContaining({
          name: "pyci",
          state: "error",
          summary: expect.stringContaining("No worker finished this build: its job is gone from Redis"),
        }),
      ]);
      // the worker's build is still waiting: stop it, as the server would
      await admin.publish(CANCEL_CHANNEL, "build-lost");
    } finally {
      admin.disconnect();
    }
  });
});

async function until(probe: () => boolean): Promise<void> {
  while (!probe()) await new Promise((resolve) => setTimeout(resolve, 50));
}
