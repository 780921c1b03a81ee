import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { latestStatus, startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { redisMissing, startRedis, type TestRedis } from "../support/redis-server.js";
import {
  eventually,
  freePort,
  productionEnv,
  spawnServer,
  spawnWorker,
  waitUntilServing,
  type ServerProcess,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { until } from "../support/until.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * Scale-out (docs/scale-out.md): the real server with CI_REDIS_URL hands builds to two real
 * `pyci worker` processes through a real redis-server (password, AOF), against the fake GitHub
 * and a real sshd. The server holds no SSH key and the workers no App key or webhook secret.
 * Needs `npm run build` first.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out e2e skipped: ${missing}`);

const APP_ID = 4343;
const INSTALLATION_ID = 78;
const OWNER = "acme";
const REPO = "gadgets";
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
  const privateKey = generateAppKey();
  const secret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  let redis: TestRedis;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let server: ServerProcess;
  const workers: ServerProcess[] = [];
  const dirs: string[] = [];
  let publicUrl: string;
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `pyci-scale-${name}-`));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    [redis, fake, sshd] = await Promise.all([
      startRedis(),
      startFakeGitHub({ appId: APP_ID, privateKey }),
      startSshd(),
    ]);
    repo = makeRepo(PROJECT);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    // the server: the App, no SSH key (it clones nothing)
    server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: publicUrl,
        CI_DATA_DIR: tempDir("server-data"),
        CI_WORK_DIR: tempDir("server-work"),
        CI_REDIS_URL: redis.url,
      },
      tempDir("server-cwd"),
    );
    // the workers: Redis and their own SSH key, nothing of the App
    for (const name of WORKERS)
      workers.push(
        spawnWorker(
          {
            ...productionEnv(),
            CI_REDIS_URL: redis.url,
            CI_WORKER_NAME: name,
            CI_CONCURRENCY: "1",
            // a killed worker's build goes to the other within seconds
            CI_WORKER_LOCK: "3",
            CI_DATA_DIR: tempDir(`${name}-data`),
            CI_WORK_DIR: tempDir(`${name}-work`),
            CI_SSH_KEY_PATH: sshd.clientKeyPath,
            CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
          },
          tempDir(`${name}-cwd`),
        ),
      );
    await waitUntilServing(server, "/ping");
    for (const worker of workers)
      await eventually(() => worker.output().includes("pyci worker ready") || !worker.alive(), 20_000, "worker ready");
    for (const worker of workers) expect(worker.alive(), worker.output()).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop(), ...workers.map((w) => w.stop())]);
    await Promise.allSettled([redis?.stop(), sshd?.stop(), fake?.stop()]);
    repo?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("builds pull requests on both workers, reported and shown as builds of the server itself", async () => {
    // 1. a commit per pull request, all delivered at once
    const commits = PULL_REQUESTS.map((number) => ({
      number,
      sha: repo.commit({ [`notes_${number}.txt`]: `pull request ${number}\n` }, `change for #${number}`),
    }));
    for (const { number, sha } of commits) {
      const res = await sendWebhook({
        url: `${publicUrl}/api/github/webhooks`,
        secret,
        event: "pull_request",
        payload: pullRequestPayload({
          action: "opened",
          owner: OWNER,
          repo: REPO,
          number,
          headSha: sha,
          sshUrl: sshd.sshUrl(repo.dir),
          cloneUrl: "http://127.0.0.1:9/acme/gadgets.git",
          installationId: INSTALLATION_ID,
        }),
      });
      expect(res.status, res.body).toBeLessThan(300);
    }

    // 2. every commit ends with its statuses and one completed check run
    const finished = (sha: string) =>
      ["ci/check", "ci/test"].every((c) => latestStatus(fake.statuses, sha, c)?.body.state !== "pending") &&
      fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed");
    await fake.waitFor(() => commits.every(({ sha }) => finished(sha)), 100_000);
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
    const taken = WORKERS.map((name, i) => ({ name, builds: countTaken(workers[i]!.output()) }));
    expect(
      taken.every((w) => w.builds > 0),
      JSON.stringify(taken),
    ).toBe(true);
    expect(taken.reduce((sum, w) => sum + w.builds, 0)).toBe(commits.length);

    // 5. no secret in what either side logs: Redis's password, the webhook secret, installation tokens
    for (const [where, text] of [["server", server.output()], ...workers.map((w, i) => [WORKERS[i]!, w.output()])]) {
      expect(text!.includes(redis.password), `Redis password in the ${where}'s log`).toBe(false);
      expect(text!.includes(secret), `webhook secret in the ${where}'s log`).toBe(false);
      expect(fake.leakedTokens(text!), where).toEqual([]);
    }
  }, 120_000);

  it("stops a build on its worker when a newer commit supersedes it, and builds the newer one", async () => {
    const deliver = (action: string, sha: string) =>
      sendWebhook({
        url: `${publicUrl}/api/github/webhooks`,
        secret,
        event: "pull_request",
        payload: pullRequestPayload({
          action,
          owner: OWNER,
          repo: REPO,
          number: 31,
          headSha: sha,
          sshUrl: sshd.sshUrl(repo.dir),
          cloneUrl: "http://127.0.0.1:9/acme/gadgets.git",
          installationId: INSTALLATION_ID,
        }),
      });
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
    const sha = repo.commit({ "test_slow.py": SLOW_ONCE_TEST }, "a test that takes a while");
    const res = await sendWebhook({
      url: `${publicUrl}/api/github/webhooks`,
      secret,
      event: "pull_request",
      payload: pullRequestPayload({
        action: "opened",
        owner: OWNER,
        repo: REPO,
        number: 41,
        headSha: sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: "http://127.0.0.1:9/acme/gadgets.git",
        installationId: INSTALLATION_ID,
      }),
    });
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

/** Builds a worker's log says it took (JSON lines, as in production). */
function countTaken(output: string): number {
  return output.split("\n").filter((line) => line.includes('"msg":"build taken"')).length;
}
