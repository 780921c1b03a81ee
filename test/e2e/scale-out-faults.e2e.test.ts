import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { redisMissing } from "../support/redis-server.js";
import {
  buildFinished,
  startScaleOutCluster,
  type ClusterServer,
  type ClusterWorker,
  type ScaleOutCluster,
} from "../support/scale-out-cluster.js";
import { eventually } from "../support/server-process.js";
import { until } from "../support/until.js";
import { buildsTaken } from "../support/worker-process.js";

/**
 * Scale-out's faults (docs/scale-out.md, "What happens on each fault"): the real server with
 * CI_REDIS_URL, real `pyci worker`s, a real redis-server (password, AOF) killed and started again,
 * the server killed and started again mid-build, a worker stopped by SIGTERM mid-build; fake
 * GitHub, real sshd. Every build is reported once, and nothing stays pending.
 * Needs `npm run build` first.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out faults e2e skipped: ${missing}`);

const WORKERS = ["worker-a", "worker-b"];
/** Seconds a worker gives its running builds on SIGTERM before it hands them back. */
const WORKER_GRACE = 2;

const PROJECT = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py": [
    "import unittest",
    "",
    "from calc import add",
    "",
    "",
    "class AddTest(unittest.TestCase):",
    "    def test_adds(self):",
    "        self.assertEqual(add(2, 3), 5)",
    "",
  ].join("\n"),
};

describe.skipIf(missing)("scale-out faults lose no build and leave nothing pending", () => {
  let cluster: ScaleOutCluster;
  let server: ClusterServer;
  const workers: ClusterWorker[] = [];
  const startWorkers = async () => {
    const env = { CI_WORKER_LOCK: "3", CI_SHUTDOWN_GRACE: String(WORKER_GRACE) };
    workers.push(...(await Promise.all(WORKERS.map((name) => cluster.startWorker(name, { env })))));
  };
  const deliver = (number: number, sha: string) => cluster.pullRequest(server.url, { number, headSha: sha });
  const finished = (sha: string) => buildFinished(cluster.fake, sha);
  /** Reported once: one check run, one final status per context, none pending after it. */
  const expectReportedOnce = (sha: string, testState: string) => {
    const { fake } = cluster;
    expect(fake.checkRuns.filter((r) => r.fields.head_sha === sha)).toHaveLength(1);
    for (const context of ["ci/check", "ci/test"]) {
      const states = fake.statuses.filter((s) => s.sha === sha && s.body.context === context).map((s) => s.body.state);
      expect(
        states.filter((state) => state !== "pending"),
        `${context} of ${sha}: ${states}`,
      ).toHaveLength(1);
      expect(states.at(-1)).not.toBe("pending");
    }
    expect(latestStatus(fake.statuses, sha, "ci/test")!.body.state).toBe(testState);
  };
  const healthz = async () => {
    const res = await fetch(`${server.url}/healthz`);
    return { status: res.status, text: await res.text() };
  };

  beforeAll(async () => {
    cluster = await startScaleOutCluster({
      prefix: "faults",
      appId: 4545,
      owner: "acme",
      repo: "gizmos",
      installationId: 79,
      files: PROJECT,
    });
    server = await cluster.startServer("server");
  }, 60_000);

  afterAll(() => cluster?.stop());

  it("loses no build when Redis is killed while builds wait, nor when deliveries come while it is away", async () => {
    const { fake, redis, repo } = cluster;
    // 1. two builds wait in Redis's queue (no worker yet)
    const commits = [51, 52, 53, 54].map((number) => ({
      number,
      sha: repo.commit({ [`notes_${number}.txt`]: `pull request ${number}\n` }, `change for #${number}`),
    }));
    for (const { number, sha } of commits.slice(0, 2)) expect((await deliver(number, sha)).status).toBeLessThan(300);
    await eventually(() => handedOver(server.output()) === 2, 30_000, "two builds handed to the workers");

    // 2. redis-server killed: deliveries are still accepted and recorded, /healthz says why it is unwell
    await redis.kill9();
    for (const { number, sha } of commits.slice(2)) {
      const res = await deliver(number, sha);
      expect(res.status, res.body).toBeLessThan(300);
    }
    await fake.waitFor(() => commits.every(({ sha }) => latestStatus(fake.statuses, sha, "ci/test")), 30_000);
    for (const { sha } of commits)
      expect(latestStatus(fake.statuses, sha, "ci/test")!.body).toMatchObject({ state: "pending" });
    await until("/healthz answers 503 while Redis is away", 20_000, async () => {
      const health = await healthz();
      return health.status === 503 ? health : undefined;
    });
    expect((await healthz()).text).toContain("Redis (CI_REDIS_URL) does not answer");

    // 3. Redis back on the same port and data (AOF): healthy again, and workers build all four
    await redis.restart();
    await until("/healthz answers 200 once Redis is back", 20_000, async () =>
      (await healthz()).status === 200 ? true : undefined,
    );
    await startWorkers();
    await fake.waitFor(() => commits.every(({ sha }) => finished(sha)), 90_000);
    for (const { sha } of commits) expectReportedOnce(sha, "success");
    expect(workers.reduce((sum, w) => sum + buildsTaken(w.output()), 0)).toBe(commits.length);
    expect(fake.violations).toEqual([]);
  }, 150_000);

  it("reports a build once when the server is killed mid-build and started again: it follows it on", async () => {
    const { fake, repo } = cluster;
    const sha = repo.commit({ "test_slow.py": slowTest("taking a while", 6) }, "a test that takes a while");
    expect((await deliver(61, sha)).status).toBeLessThan(300);
    const buildUrl = await testRunning(sha, "taking a while");

    // 1. the server dies without a word; the worker goes on; the server comes back
    const reportedBefore = fake.statuses.length;
    await server.kill9();
    server = await cluster.restartServer(server);

    // 2. the results are reported once, the output stored once, the build taken by one worker once
    await fake.waitFor(() => finished(sha), 60_000);
    expectReportedOnce(sha, "success");
    // followed on, not queued again: GitHub never heard "Queued" after the build had started
    const since = fake.statuses.slice(reportedBefore).filter((s) => s.sha === sha);
    expect(since.map((s) => s.body.state)).not.toContain("pending");
    const log = await (await fetch(`${buildUrl}/test.log`)).text();
    expect(log.split("taking a while").length - 1, log).toBe(1);
    const buildId = buildUrl.split("/").at(-1)!;
    expect(workers.reduce((sum, w) => sum + buildsTaken(w.output(), buildId), 0)).toBe(1);
    expect(server.output()).toContain('"following":true');
  }, 90_000);

  it("stops following at once on SIGTERM (the worker goes on), and reports the build once started again", async () => {
    const { fake, repo } = cluster;
    const sha = repo.commit({ "test_slow.py": slowTest("taking its time", 6) }, "a test that takes its time");
    expect((await deliver(65, sha)).status).toBeLessThan(300);
    await testRunning(sha, "taking its time");

    // 1. SIGTERM: no CI_SHUTDOWN_GRACE (60 s) for a build that goes on without the server
    const reportedBefore = fake.statuses.length;
    server.child.kill("SIGTERM");
    await eventually(() => !server.alive(), 20_000, "the server exits without waiting for the worker's build");
    expect(fake.statuses.slice(reportedBefore).filter((s) => s.sha === sha)).toEqual([]);

    // 2. started again, it follows the build on and reports it once
    server = await cluster.restartServer(server);
    await fake.waitFor(() => finished(sha), 60_000);
    expectReportedOnce(sha, "success");
    expect(fake.statuses.slice(reportedBefore).filter((s) => s.sha === sha && s.body.state === "pending")).toEqual([]);
  }, 90_000);

  it("hands a build back when its worker gets SIGTERM mid-build: it exits within its grace, the other worker builds it", async () => {
    const { fake, repo } = cluster;
    const sha = repo.commit({ "test_slow.py": slowTest("taking longer", 8) }, "a test that takes longer");
    expect((await deliver(71, sha)).status).toBeLessThan(300);
    const buildUrl = await testRunning(sha, "taking longer");
    const buildId = buildUrl.split("/").at(-1)!;
    const victim = workers.findIndex((w) => w.output().includes(`"buildId":"${buildId}"`));
    expect(victim).toBeGreaterThanOrEqual(0);

    // 1. SIGTERM: the worker exits once its grace is over, well before the test would end
    workers[victim]!.child.kill("SIGTERM");
    await eventually(() => !workers[victim]!.alive(), (WORKER_GRACE + 5) * 1000, "the worker exits after its grace");
    expect((await workers[victim]!.exited).code).toBe(0);
    expect(workers[victim]!.output()).toContain("build handed back");

    // 2. the other worker builds it from the start, on the same check run
    await fake.waitFor(() => finished(sha), 60_000);
    expectReportedOnce(sha, "success");
    const survivor = WORKERS[1 - victim]!;
    expect(await (await fetch(buildUrl)).text()).toContain(`Checked out ${sha.slice(0, 7)} on ${survivor}`);
    expect(buildsTaken(workers[1 - victim]!.output(), buildId)).toBe(1);
  }, 90_000);

  /** Waits until the commit's test step prints `line` on the server's copy of its log; the build page's URL. */
  async function testRunning(sha: string, line: string): Promise<string> {
    const { fake } = cluster;
    await fake.waitFor(() => !!latestStatus(fake.statuses, sha, "ci/test"), 30_000);
    const buildUrl = latestStatus(fake.statuses, sha, "ci/test")!.body.target_url as string;
    await until(`the test step's output on the server: ${line}`, 60_000, async () => {
      const log = await fetch(`${buildUrl}/test.log`);
      return log.ok && (await log.text()).includes(line) ? true : undefined;
    });
    return buildUrl;
  }
});

/** A test that prints `line` and then sleeps `seconds`. */
function slowTest(line: string, seconds: number): string {
  return [
    "import time",
    "import unittest",
    "",
    "",
    "class SlowTest(unittest.TestCase):",
    "    def test_takes_time(self):",
    `        print(${JSON.stringify(line)}, flush=True)`,
    `        time.sleep(${seconds})`,
    "",
  ].join("\n");
}

/** Builds the server's log says it handed to the workers. */
function handedOver(output: string): number {
  return output.split("\n").filter((line) => line.includes('"msg":"build handed to the workers"')).length;
}
