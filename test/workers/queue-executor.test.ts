import { Queue } from "bullmq";
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
import { buildQueueName } from "../../src/workers/build-job.js";
import { buildStreamKey, CANCEL_CHANNEL, encodeEvent, type BuildStreamEvent } from "../../src/workers/build-stream.js";
import { followBuildStream } from "../../src/workers/follow-build-stream.js";
import { handToWorkers } from "../../src/workers/hand-to-workers.js";
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
      await expect(executing).rejects.toThrow("The build's job is gone from Redis");
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
