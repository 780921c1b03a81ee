import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCgroupLayout } from "../../src/process/limits/build-cgroup.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, latestStatus } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { SANDBOX_MODES } from "../support/hostile-build.js";
import { pullRequestPayload } from "../support/payloads.js";
import {
  freePort,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
  productionEnv,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * A pull request whose tests hog memory or fork without end, at the real
 * server (`node dist/server.js`, `npm run build` first) configured with small
 * CI_BUILD_MEMORY and CI_BUILD_PROCESSES: the kernel stops the build in its
 * cgroup, ci/test says which limit it hit, and the server goes on. Each hog is
 * bounded without the limit too (512 MiB, 500 sleeping processes), so a limit
 * that does not hold fails the test, not the machine. Runs where the host
 * gives pyci a cgroup (this one: v1 memory and pids).
 */
const APP_ID = 4848;
const INSTALLATION_ID = 83;
const OWNER = "acme";
const MODE = SANDBOX_MODES.find((m) => m.runs);
const CGROUP = (await buildCgroupLayout()).kind !== "none";

const unittest = (body: string) => `import os, time, unittest


class Hostile(unittest.TestCase):
    def test_it(self):
${body
  .split("\n")
  .map((line) => `        ${line}`)
  .join("\n")}
`;

describe.skipIf(!MODE || !CGROUP)(`a build's limits at the server, CI_SANDBOX=${MODE?.mode}`, () => {
  const privateKey = generateAppKey();
  const webhookSecret = `pyci-limits-${randomBytes(18).toString("base64url")}`;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let server: ServerProcess;
  let cwd: string;
  let dataDir: string;
  let workDir: string;
  let hookUrl: string;
  const repos: TestRepo[] = [];
  let pr = 60;

  const build = async (name: string, test: string) => {
    const repo = makeRepo({ "test_hostile.py": test });
    repos.push(repo);
    const payload = pullRequestPayload({
      action: "opened",
      owner: OWNER,
      repo: name,
      number: ++pr,
      headSha: repo.sha,
      sshUrl: sshd.sshUrl(repo.dir),
      cloneUrl: `http://127.0.0.1:9/${OWNER}/${name}.git`,
      installationId: INSTALLATION_ID,
      title: name,
    });
    const res = await sendWebhook({ url: hookUrl, secret: webhookSecret, event: "pull_request", payload });
    expect(res.status, res.body).toBeLessThan(300);
    await fake.waitFor(
      () =>
        ["success", "failure", "error"].includes(String(latestStatus(fake.statuses, repo.sha, "ci/test")?.body.state)),
      90_000,
    );
    return latestStatus(fake.statuses, repo.sha, "ci/test")!.body;
  };

  beforeAll(async () => {
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
    cwd = mkdtempSync(join(tmpdir(), "pyci-limits-cwd-"));
    dataDir = mkdtempSync(join(tmpdir(), "pyci-limits-data-"));
    workDir = mkdtempSync(join(tmpdir(), "pyci-limits-work-"));
    chmodSync(workDir, 0o711);
    const port = await freePort();
    hookUrl = `http://127.0.0.1:${port}/api/github/webhooks`;
    server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: webhookSecret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: dataDir,
        CI_WORK_DIR: workDir,
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_SANDBOX: MODE!.mode,
        CI_PYTHON: MODE!.python,
        CI_CONCURRENCY: "1",
        CI_STEP_TIMEOUT: "60",
        CI_BUILD_MEMORY: "256",
        CI_BUILD_PROCESSES: "64",
      },
      cwd,
    );
    await waitUntilServing(server, "/ping");
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop(), sshd?.stop(), fake?.stop()]);
    for (const repo of repos) repo.remove();
    for (const dir of [cwd, dataDir, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("says at start-up what holds builds to their limits", () => {
    expect(server.output()).toMatch(/each build gets a cgroup of its own/);
  });

  it("a memory hog ends the build in error: it used more than its memory", async () => {
    const test = await build(
      "hog",
      unittest("hog = []\nfor _ in range(64):\n    hog.append(bytearray(8 * 1024 * 1024))"),
    );
    expect(test, JSON.stringify(test)).toMatchObject({
      state: "error",
      description: "The build used more than 256 MiB of memory (CI_BUILD_MEMORY)",
    });
  }, 120_000);

  it("a fork bomb ends the build in error: it started more than its processes", async () => {
    const bomb = "for _ in range(500):\n    if os.fork() == 0:\n        time.sleep(5)\n        os._exit(0)";
    const test = await build("bomb", unittest(bomb));
    expect(test, JSON.stringify(test)).toMatchObject({
      state: "error",
      description: expect.stringMatching(/^The build started more than 64 processes/),
    });
  }, 120_000);

  it("builds an ordinary pull request as usual afterwards", async () => {
    const test = await build("ordinary", unittest("self.assertEqual(1 + 1, 2)"));
    expect(test).toMatchObject({ state: "success", description: "1 test passed" });
  }, 120_000);
});
