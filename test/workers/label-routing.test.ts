import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { BuildExecutor, BuildSinks, ExecutedBuild } from "../../src/builds/build-executor.js";
import type { Octokit } from "../../src/github/types.js";
import { labelSet, servesLabels } from "../../src/model/worker-labels.js";
import { defaultRepoConfig } from "../../src/pipeline/repo-config.js";
import type { StepResult } from "../../src/pipeline/types.js";
import { buildQueueName } from "../../src/workers/build-job.js";
import { waitingText } from "../../src/workers/hand-over-watch.js";
import { handToWorkers } from "../../src/workers/hand-to-workers.js";
import { startWorker, type RunningWorker } from "../../src/workers/start-worker.js";
import { HEARTBEAT_TTL_SECONDS, readHeartbeats } from "../../src/workers/worker-heartbeat.js";
import { WorkerSlots } from "../../src/workers/worker-slots.js";
import { redisMissing, startRedis, type TestRedis } from "../support/redis-server.js";
import { until } from "../support/until.js";

const missing = redisMissing();
if (missing) console.warn(`skipped: ${missing}`);
const log = pino({ level: "silent" });

describe("labels", () => {
  it("serve a wish only with every label of it", () => {
    expect(servesLabels(["big", "py312"], ["py312"])).toBe(true);
    expect(servesLabels(["big", "py312"], [])).toBe(true);
    expect(servesLabels(["py312"], ["big", "py312"])).toBe(false);
    expect(servesLabels([], ["big"])).toBe(false);
  });

  it("name one queue per label set, whatever the order, and two sets never one queue", () => {
    expect(buildQueueName([])).toBe("pyci-builds");
    expect(buildQueueName(["py312", "big", "py312"])).toBe("pyci-builds+big+py312");
    expect(buildQueueName(["a.b"])).not.toBe(buildQueueName(["a", "b"]));
    expect(labelSet(["b", "a", "b"])).toEqual(["a", "b"]);
  });
});

describe("shared worker slots", () => {
  it("give out at most their size, say when they fill and free up", () => {
    const said: boolean[] = [];
    const slots = new WorkerSlots(2, (full) => said.push(full));
    expect([slots.take(), slots.take(), slots.take()]).toEqual([true, true, false]);
    slots.release();
    expect(slots.take()).toBe(true);
    expect(said).toEqual([true, false, true]);
  });
});

/** What the fake builds did: who ran what, how many at once on each worker, and the gate they wait at. */
interface Runs {
  ran: string[];
  running: Map<string, Set<string>>;
  most: Map<string, number>;
  gate: Promise<void>;
}

/** A worker's executor that runs no pipeline: each build waits at the gate (or for its abort). */
function holdingExecutor(name: string, runs: Runs): BuildExecutor {
  return {
    async execute(build: ExecutedBuild, sinks: BuildSinks) {
      const mine = runs.running.get(name) ?? new Set<string>();
      runs.running.set(name, mine);
      mine.add(build.buildId);
      runs.most.set(name, Math.max(runs.most.get(name) ?? 0, mine.size));
      runs.ran.push(`${build.buildId}@${name}`);
      sinks.onStepStart?.("test");
      const out = sinks.openLog("test", (text) => text);
      out.write(`built on ${name}\n`);
      await Promise.race([
        runs.gate,
        new Promise((resolve) => build.signal?.addEventListener("abort", resolve, { once: true })),
      ]);
      out.close();
      mine.delete(build.buildId);
      const result: StepResult = {
        name: "test",
        state: "success",
        summary: `built on ${name}`,
        exitCode: 0,
        durationMs: 1,
      };
      sinks.onStepEnd(result);
      return { results: [result], tidy: async () => undefined };
    },
  };
}

/** A closed gate, and how to open it. */
function gate(): { gate: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { gate: promise, open: () => open() };
}

function executed(buildId: string, runsOn: string[] | undefined): ExecutedBuild {
  return {
    request: {
      pipeline: "pr",
      owner: "o",
      repo: "r",
      sha: "b".repeat(40),
      event: "pull_request.opened",
      deliveryId: "d",
      sshUrl: "git@example.com:o/r.git",
      cloneUrl: "https://example.com/o/r.git",
    },
    buildId,
    repoConfig: Promise.resolve({ ...defaultRepoConfig(), ...(runsOn ? { runsOn } : {}) }),
    testDurations: new Map(),
    cloneToken: async () => undefined,
    log,
  };
}

function sinks(waiting: string[]): BuildSinks {
  return {
    openLog: () => ({ write: () => undefined, close: () => undefined }),
    onStepEnd: () => undefined,
    restart: () => undefined,
    keepArtifact: async (artifact) => artifact,
    waiting: (text) => waiting.push(text),
  };
}

describe.skipIf(missing)("routing builds by labels, with real Redis and BullMQ workers", () => {
  let redis: TestRedis;
  let admin: Redis;
  let server: ReturnType<typeof handToWorkers>;
  const workers: RunningWorker[] = [];
  const handedOver: number[] = [];
  let closed = gate();
  const runs: Runs = { ran: [], running: new Map(), most: new Map(), gate: closed.gate };
  const runningOn = (name: string) => runs.running.get(name)?.size ?? 0;

  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    server = handToWorkers({
      redisUrl: redis.url,
      dataDir: redis.dir,
      secrets: [],
      log,
      octokitFor: async () => ({}) as Octokit,
      handedOver: (seconds) => handedOver.push(seconds),
    });
  });
  afterAll(async () => {
    closed.open();
    for (const worker of workers) await worker.close(1000);
    await server?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  const start = async (name: string, labels: string[], concurrency: number) => {
    const worker = await startWorker({
      redisUrl: redis.url,
      name,
      labels,
      concurrency,
      lockMs: 30_000,
      executor: holdingExecutor(name, runs),
      log,
    });
    workers.push(worker);
    return worker;
  };

  it("has a build wait, saying so, while no connected worker has its labels; a worker with them builds it, once", async () => {
    await start("plain", [], 2);
    const said: string[] = [];
    const big = server.executor.execute(executed("wants-big", ["py312", "big"]), sinks(said));
    await until("the build says what it waits for", 10_000, async () => (said.length > 0 ? true : undefined));
    expect(said).toEqual([waitingText(["big", "py312"])]);
    expect(said[0]).toBe("Waits for a worker with labels big, py312: none connected");
    expect(server.waitingFor("wants-big")).toBe(said[0]);
    const metrics = await server.metrics();
    expect(metrics.redisUp).toBe(true);
    expect(metrics.queues).toEqual([
      { labels: "", waiting: 0 },
      { labels: "big,py312", waiting: 1 },
    ]);
    expect(metrics.workers).toEqual([{ name: "plain", running: 0, concurrency: 2 }]);
    expect(runs.ran).toEqual([]);

    // a worker with more labels than asked connects: it learns of the queue from Redis and takes the build
    await start("big-one", ["big", "gpu", "py312"], 1);
    await until("the labelled worker runs the build", 15_000, async () =>
      runningOn("big-one") > 0 ? true : undefined,
    );
    expect(runs.ran).toEqual(["wants-big@big-one"]);
    await until("the server hears the build was taken", 10_000, async () =>
      server.waitingFor("wants-big") === undefined ? true : undefined,
    );
    expect(handedOver).toHaveLength(1);
    const beats = await readHeartbeats(admin);
    expect(beats.map((b) => [b.name, b.labels, b.concurrency])).toEqual([
      ["big-one", ["big", "gpu", "py312"], 1],
      ["plain", [], 2],
    ]);
    const runningNow = await until("the heartbeat names the running build", 10_000, async () => {
      const beat = (await readHeartbeats(admin)).find((b) => b.name === "big-one");
      return beat?.running.length ? beat.running : undefined;
    });
    expect(runningNow).toEqual(["wants-big"]);
    closed.open();
    const { results } = await big;
    expect(results.map((r) => r.summary)).toEqual(["built on big-one"]);

    // followed again (as a restarted server resumes it): the same results, no second hand-over measured
    const again = await server.executor.execute(executed("wants-big", ["big", "py312"]), sinks([]));
    expect(again.results.map((r) => r.summary)).toEqual(["built on big-one"]);
    expect(runs.ran).toEqual(["wants-big@big-one"]);
    expect(handedOver).toHaveLength(1);
  });

  it("runs at most CI_CONCURRENCY builds on a worker over all the queues it serves, giving back what it cannot start", async () => {
    // big-one (concurrency 1) serves pyci-builds and pyci-builds+big+py312; plain (2) serves pyci-builds only
    closed = gate();
    runs.gate = closed.gate;
    runs.ran.length = 0;
    runs.most.clear();
    const builds = [
      ...["q1", "q2"].map((id) => server.executor.execute(executed(id, ["big", "py312"]), sinks([]))),
      ...["a1", "a2", "a3"].map((id) => server.executor.execute(executed(id, undefined), sinks([]))),
    ];
    await until("both workers are full", 15_000, async () =>
      runningOn("big-one") === 1 && runningOn("plain") === 2 ? true : undefined,
    );
    // what is left waits in Redis, though big-one's Worker of pyci-builds had a free place of its own
    // the heartbeats say so within a beat
    const now = (name: string) => [...(runs.running.get(name) ?? [])].sort().join();
    await until("the heartbeats name the running builds", 10_000, async () => {
      const beats = await readHeartbeats(admin);
      return beats.every((b) => b.running.sort().join() === now(b.name)) ? true : undefined;
    });
    const waiting = await server.metrics();
    expect(waiting.workers).toEqual([
      { name: "big-one", running: 1, concurrency: 1 },
      { name: "plain", running: 2, concurrency: 2 },
    ]);
    expect(waiting.queues.reduce((sum, q) => sum + q.waiting, 0)).toBe(2);
    closed.open();
    await Promise.all(builds);
    expect(runs.ran.filter((run) => run.startsWith("q")).sort()).toEqual(["q1@big-one", "q2@big-one"]);
    expect(runs.ran).toHaveLength(5);
    expect(runs.most.get("big-one")).toBe(1);
    expect(runs.most.get("plain")).toBe(2);
  });

  it("reads heartbeats that expire, and drops names whose key is gone or unreadable", async () => {
    const ttl = await admin.ttl("pyci:worker:plain");
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(HEARTBEAT_TTL_SECONDS);
    await admin.sadd("pyci:workers", "ghost", "garbled");
    await admin.set("pyci:worker:garbled", "{not json", "EX", 60);
    const names = (await readHeartbeats(admin)).map((b) => b.name);
    expect(names).toContain("plain");
    expect(names).not.toContain("ghost");
    expect(names).not.toContain("garbled");
    expect(await admin.sismember("pyci:workers", "ghost")).toBe(0);
  });

  it("forgets a worker as soon as it closes, and then says its builds wait", async () => {
    closed = gate();
    runs.gate = closed.gate;
    const solo = await start("solo", ["solo"], 1);
    expect((await readHeartbeats(admin)).map((b) => b.name)).toContain("solo");
    // solo is connected: its builds wait for a slot, not for a worker, and say nothing
    const said: string[] = [];
    const first = server.executor.execute(executed("solo-1", ["solo"]), sinks(said));
    await until("solo runs the first build", 15_000, async () => (runningOn("solo") === 1 ? true : undefined));
    const second = server.executor.execute(executed("solo-2", ["solo"]), sinks(said));
    await until("the second build is queued", 10_000, async () => {
      const metrics = await server.metrics();
      return metrics.queues.find((q) => q.labels === "solo")?.waiting === 1 ? true : undefined;
    });
    expect(said).toEqual([]);
    // solo stops: the build that waited says so now (the one it ran goes back to the queue quietly:
    // the server hears nothing of a hand-back until the next worker takes it)
    await solo.close(100);
    workers.splice(workers.indexOf(solo), 1);
    expect((await readHeartbeats(admin)).map((b) => b.name)).not.toContain("solo");
    await until("the waiting build says so", 15_000, async () => (said.length > 0 ? true : undefined));
    expect(said).toEqual([waitingText(["solo"])]);
    expect(server.waitingFor("solo-2")).toBe(waitingText(["solo"]));
    expect(server.waitingFor("solo-1")).toBeUndefined();
    // another worker with the label takes both
    await start("solo-again", ["solo"], 2);
    closed.open();
    const results = await Promise.all([first, second]);
    expect(results.map((r) => r.results.map((x) => x.summary))).toEqual([
      ["built on solo-again"],
      ["built on solo-again"],
    ]);
  });
});
