import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, type StatusRecord } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import {
  eventually,
  freePort,
  processesUnder,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
  productionEnv,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * The real server (`node dist/server.js`: run `npm run build` first) while GitHub
 * refuses its writes: a build finishes, its final statuses and check run wait in
 * the outbox, the server is killed with SIGKILL, GitHub comes back, and the next
 * process delivers them. Nothing is left pending on GitHub.
 */

const APP_ID = 5252;
const INSTALLATION_ID = 92;
const OWNER = "acme";
const REPO = "outage";
const PROJECT = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py": [
    "import time",
    "import unittest",
    "from calc import add",
    "",
    "",
    "class AddTest(unittest.TestCase):",
    "    def test_add(self):",
    "        time.sleep(2)",
    "        self.assertEqual(add(1, 2), 3)",
    "",
  ].join("\n"),
};
/** GitHub's answer while it refuses writes: a secondary rate limit for an hour (too long to wait in-process). */
const REFUSED = {
  status: 429,
  body: {
    message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    status: "429",
  },
  headers: { "retry-after": "3600" },
  times: 1000,
};

describe("the outbox across a kill -9", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-outbox-${randomBytes(18).toString("base64url")}`;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let env: Record<string, string>;
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  const tempDir = (prefix: string) => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(dir);
    return dir;
  };
  const start = () => {
    const server = spawnServer(env, env.CI_WORK_DIR!);
    servers.push(server);
    return server;
  };
  const latest = (context: string): StatusRecord | undefined =>
    fake.statuses.filter((s) => s.sha === repo.sha && s.body.context === context).at(-1);
  const outboxSize = async (server: ServerProcess) =>
    sampleValue(parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text()), "pyci_github_outbox_size");

  beforeAll(async () => {
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
    repo = makeRepo(PROJECT);
    const port = await freePort();
    env = {
      ...productionEnv(),
      APP_ID: String(APP_ID),
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: secret,
      PORT: String(port),
      GHE_HOST: fake.host,
      CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
      CI_DATA_DIR: tempDir("pyci-outbox-data-"),
      CI_WORK_DIR: tempDir("pyci-outbox-work-"),
      CI_SSH_KEY_PATH: sshd.clientKeyPath,
      CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
      CI_CONCURRENCY: "1",
    };
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    for (const pid of env ? processesUnder(env.CI_WORK_DIR!) : []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.allSettled([sshd?.stop(), fake?.stop()]);
    repo?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("delivers after a restart what GitHub refused before the kill", async () => {
    const first = start();
    await waitUntilServing(first, "/ping");

    // 1. a pull request: pending, then the build runs
    const payload = pullRequestPayload({
      action: "opened",
      owner: OWNER,
      repo: REPO,
      number: 7,
      headSha: repo.sha,
      sshUrl: sshd.sshUrl(repo.dir),
      cloneUrl: "http://127.0.0.1:9/acme/outage.git",
      installationId: INSTALLATION_ID,
    });
    const res = await sendWebhook({ url: `${first.url}/api/github/webhooks`, secret, event: "pull_request", payload });
    expect(res.status, res.body).toBeLessThan(300);
    await fake.waitFor(() => fake.checkRuns.some((r) => r.fields.status === "in_progress"), 30_000);
    expect(latest("ci/test")!.body.state).toBe("pending");

    // 2. GitHub refuses every status and check-run update from now on
    fake.failNext({ method: "POST", path: new RegExp(`^/repos/${OWNER}/${REPO}/statuses/`), ...REFUSED });
    fake.failNext({ method: "PATCH", path: new RegExp(`^/repos/${OWNER}/${REPO}/check-runs/`), ...REFUSED });

    // 3. the build finishes; its report waits in the outbox: two statuses and the check run
    await eventually(() => first.output().includes("build finished"), 60_000, "the build finishes");
    await eventually(
      () => (first.output().match(/kept in the outbox/g) ?? []).length >= 3,
      10_000,
      "three writes kept",
    );
    expect(await outboxSize(first)).toBe(3);
    expect(latest("ci/check")!.body.state).toBe("pending");
    expect(latest("ci/test")!.body.state).toBe("pending");

    // 4. kill -9; GitHub is back; the next process sends what was kept
    await first.kill9();
    fake.clearFailures();
    const second = start();
    await waitUntilServing(second, "/ping");
    await fake.waitFor(
      () =>
        latest("ci/check")?.body.state === "success" &&
        latest("ci/test")?.body.state === "success" &&
        fake.checkRuns[0]!.fields.status === "completed",
      30_000,
    );

    expect(latest("ci/test")!.body).toMatchObject({ state: "success", description: "1 test passed" });
    expect(fake.checkRuns).toHaveLength(1);
    expect(fake.checkRuns[0]!.fields).toMatchObject({ status: "completed", conclusion: "success" });
    await eventually(
      () => (second.output().match(/kept GitHub write delivered/g) ?? []).length === 3,
      10_000,
      "three kept writes delivered",
    );
    expect(await outboxSize(second)).toBe(0);
    // the refused writes were tried once each by the first process, not hammered
    const refused = fake.requests.filter((r) => r.status === 429);
    expect(refused).toHaveLength(3);
    expect(fake.violations).toEqual([]);
    expect(fake.unexpected).toEqual([]);
    for (const server of servers) expect(fake.leakedTokens(server.output())).toEqual([]);
  }, 120_000);
});
