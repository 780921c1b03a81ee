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
import { until } from "../support/until.js";
import { buildsTaken } from "../support/worker-process.js";

/**
 * Scale-out (docs/scale-out.md): the real server with CI_REDIS_URL hands builds to two real
 * `pyci worker` processes through a real redis-server (password, AOF), against the fake GitHub
 * and a real sshd. The server holds no SSH key and the workers no App key or webhook secret.
 * Needs `npm run build` first.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out e2e skipped: ${missing}`);

const PULL_REQUESTS = [21, 22, 23, 24];
const WORKERS = ["worker-a", "worker-b"];

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
    "        print('adding two and three')",
    "        self.assertEqual(add(2, 3), 5)",
    "",
    "    def test_broken(self):",
    "        print('this one fails on purpose')",
    "        self.assertEqual(add(2, 2), 5)",
    "",
  ].join("\n"),
};

describe.skipIf(missing)("builds on two pyci workers through Redis", () => {
  let cluster: ScaleOutCluster;
  let server: ClusterServer;
  let workers: ClusterWorker[];

  beforeAll(async () => {
    cluster = await startScaleOutCluster({
      prefix: "scale",
      appId: 4343,
      owner: "acme",
      repo: "gadgets",
      installationId: 78,
      files: PROJECT,
    });
    // the server: the App, no SSH key (it clones nothing); the workers: Redis and their own SSH key,
    // nothing of the App — a killed worker's build goes to the other within seconds (CI_WORKER_LOCK)
    [server, workers] = await Promise.all([
      cluster.startServer("server"),
      Promise.all(WORKERS.map((name) => cluster.startWorker(name, { env: { CI_WORKER_LOCK: "3" } }))),
    ]);
  }, 60_000);

  afterAll(() => cluster?.stop());

  it("builds pull requests on both workers, reported and shown as builds of the server itself", async () => {
    const { fake, repo } = cluster;
    // 1. a commit per pull request, all delivered at once
    const commits = PULL_REQUESTS.map((number) => ({
      number,
      sha: repo.commit({ [`notes_${number}.txt`]: `pull request ${number}\n` }, `change for #${number}`),
    }));
    for (const { number, sha } of commits) {
      const res = await cluster.pullRequest(server.url, { number, headSha: sha });
      expect(res.status, res.body).toBeLessThan(300);
    }

    // 2. every commit ends with its statuses and one completed check run
    await fake.waitFor(() => commits.every(({ sha }) => buildFinished(fake, sha)), 100_000);
    for (const { sha } of commits) {
      const check = latestStatus(fake.statuses, sha, "ci/check")!.body;
      const test = latestStatus(fake.statuses, sha, "ci/test")!.body;
      expect(check.state, JSON.stringify(check)).toBe("success");
      expect(test.state, JSON.stringify(test)).toBe("failure");
      expect(test.description).toBe("1 failure in 2 tests");
      const runs = fake.checkRuns.filter((r) => r.fields.head_sha === sha);
      expect(runs).toHaveLength(1);
      expect(runs[0]!.fields).toMatchObject({ name: "pyci", conclusion: "failure" });
      expect((runs[0]!.fields.output as { summary: string }).summary).toContain("test_calc.AddTest.test_broken");

      // 3. the build page and the step's log, stored by the server from the worker's stream
      const buildUrl = test.target_url as string;
      const html = await (await fetch(buildUrl)).text();
      expect(html).toContain("this one fails on purpose");
      expect(html).toContain("AssertionError: 4 != 5");
      // which worker built it, as its checkout says
      expect(html).toMatch(new RegExp(`Checked out ${sha.slice(0, 7)} on worker-[ab]`));
      const log = await fetch(`${buildUrl}/test.log`);
      expect(log.status).toBe(200);
      expect(await log.text()).toContain("adding two and three");
    }
    expect(fake.violations).toEqual([]);

    // 4. both workers built, each build once
    const taken = workers.map((w) => ({ name: w.name, builds: buildsTaken(w.output()) }));
    expect(
      taken.every((w) => w.builds > 0),
      JSON.stringify(taken),
    ).toBe(true);
    expect(taken.reduce((sum, w) => sum + w.builds, 0)).toBe(commits.length);

    // 5. no secret in what either side logs: Redis's password, the webhook secret, installation tokens
    for (const [where, text] of [["server", server.output()], ...workers.map((w) => [w.name, w.output()])]) {
      expect(text!.includes(cluster.redis.password), `Redis password in the ${where}'s log`).toBe(false);
      expect(text!.includes(cluster.secret), `webhook secret in the ${where}'s log`).toBe(false);
      expect(fake.leakedTokens(text!), where).toEqual([]);
    }
  }, 120_000);

  it("stops a build on its worker when a newer commit supersedes it, and builds the newer one", async () => {
    const { fake, repo } = cluster;
    const deliver = (action: string, sha: string) =>
      cluster.pullRequest(server.url, { action, number: 31, headSha: sha });
    // 1. a commit whose tests would take minutes, building on a worker
    const slow = repo.commit({ "test_slow.py": SLOW_TEST }, "a slow test");
    expect((await deliver("opened", slow)).status).toBeLessThan(300);
    await fake.waitFor(
      () => fake.checkRuns.some((r) => r.fields.head_sha === slow && r.fields.status === "in_progress"),
      60_000,
    );
    // its output reaches the server's log while the step runs (the live page reads the same)
    const buildUrl = latestStatus(fake.statuses, slow, "ci/test")!.body.target_url as string;
    await until("the slow test's output on the server", 60_000, async () => {
      const log = await fetch(`${buildUrl}/test.log`);
      return log.ok && (await log.text()).includes("sleeping in the slow test") ? true : undefined;
    });

    // 2. a newer head: the older build is stopped on its worker and reported superseded
    const fast = repo.commit({ "test_slow.py": "" }, "no slow test");
    expect((await deliver("synchronize", fast)).status).toBeLessThan(300);
    await fake.waitFor(
      () =>
        fake.checkRuns.some((r) => r.fields.head_sha === slow && r.fields.status === "completed") &&
        ["ci/check", "ci/test"].every((c) => latestStatus(fake.statuses, fast, c)?.body.state !== "pending") &&
        fake.checkRuns.some((r) => r.fields.head_sha === fast && r.fields.status === "completed"),
      90_000,
    );
    const stopped = fake.checkRuns.find((r) => r.fields.head_sha === slow)!;
    expect(stopped.fields).toMatchObject({ conclusion: "cancelled" });
    expect(latestStatus(fake.statuses, slow, "ci/test")!.body).toMatchObject({
      state: "error",
      description: `Superseded by ${fast.slice(0, 7)}`,
    });
    expect(workers.some((w) => w.output().includes('"msg":"build stopped by the server"'))).toBe(true);
    expect(latestStatus(fake.statuses, fast, "ci/test")!.body.state).toBe("failure");
  }, 120_000);

  it("finishes on the other worker a build whose worker was killed (SIGKILL), on the same check run", async () => {
    const { fake, repo } = cluster;
    const sha = repo.commit({ "test_slow.py": SLOW_ONCE_TEST }, "a test that takes a while");
    const res = await cluster.pullRequest(server.url, { number: 41, headSha: sha });
    expect(res.status).toBeLessThan(300);
    // 1. its tests run on some worker: that one is killed
    await fake.waitFor(() => !!latestStatus(fake.statuses, sha, "ci/test"), 30_000);
    const buildUrl = latestStatus(fake.statuses, sha, "ci/test")!.body.target_url as string;
    const buildId = buildUrl.split("/").at(-1)!;
    await until("the test step's output on the server", 60_000, async () => {
      const log = await fetch(`${buildUrl}/test.log`);
      return log.ok && (await log.text()).includes("taking a while") ? true : undefined;
    });
    const victim = workers.findIndex((w) => w.output().includes(`"buildId":"${buildId}"`));
    expect(victim).toBeGreaterThanOrEqual(0);
    await workers[victim]!.kill9();

    // 2. the other worker builds it again: one check run, final statuses, the page naming the survivor
    await fake.waitFor(
      () =>
        ["ci/check", "ci/test"].every((c) => latestStatus(fake.statuses, sha, c)?.body.state !== "pending") &&
        fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed"),
      90_000,
    );
    expect(fake.checkRuns.filter((r) => r.fields.head_sha === sha)).toHaveLength(1);
    expect(latestStatus(fake.statuses, sha, "ci/test")!.body).toMatchObject({
      state: "failure",
      description: "1 failure in 3 tests",
    });
    const survivor = WORKERS[1 - victim]!;
    const html = await (await fetch(buildUrl)).text();
    expect(html).toContain(`Checked out ${sha.slice(0, 7)} on ${survivor}`);
    expect(html).not.toContain(`on ${WORKERS[victim]}`);
    expect(workers[1 - victim]!.output()).toContain(`"buildId":"${buildId}"`);
  }, 120_000);
});

/** A test that takes long enough for its worker to be killed under it. */
const SLOW_ONCE_TEST = [
  "import time",
  "import unittest",
  "",
  "",
  "class SlowTest(unittest.TestCase):",
  "    def test_takes_a_while(self):",
  "        print('taking a while', flush=True)",
  "        time.sleep(6)",
  "",
].join("\n");

/** A test that sleeps for minutes: only a stop ends its build in time. */
const SLOW_TEST = [
  "import time",
  "import unittest",
  "",
  "",
  "class SlowTest(unittest.TestCase):",
  "    def test_sleeps(self):",
  "        print('sleeping in the slow test', flush=True)",
  "        time.sleep(300)",
  "",
].join("\n");
