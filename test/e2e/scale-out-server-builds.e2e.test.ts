import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { latestStatus, startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { redisMissing, startRedis, type TestRedis } from "../support/redis-server.js";
import {
  freePort,
  productionEnv,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * CI_SERVER_BUILDS=true (docs/scale-out.md): a server with Redis and no `pyci worker` at all
 * builds the pull request itself, as a worker of its own named `<hostname>-server`, through the
 * same queue and stream; the workers view lists it. Real server, redis-server and sshd, fake
 * GitHub. Needs `npm run build` first.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out server-builds e2e skipped: ${missing}`);

const APP_ID = 4345;
const INSTALLATION_ID = 80;
const OWNER = "acme";
const REPO = "solo";

describe.skipIf(missing)("a server that builds too (CI_SERVER_BUILDS)", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  const adminToken = randomBytes(24).toString("hex");
  let redis: TestRedis;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let server: ServerProcess;
  let publicUrl: string;
  const dirs: string[] = [];
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `pyci-own-${name}-`));
    dirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    [redis, fake, sshd] = await Promise.all([
      startRedis(),
      startFakeGitHub({ appId: APP_ID, privateKey }),
      startSshd(),
    ]);
    repo = makeRepo({
      "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
      "test_calc.py":
        "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n",
    });
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: publicUrl,
        CI_ADMIN_TOKEN: adminToken,
        CI_DATA_DIR: tempDir("data"),
        CI_WORK_DIR: tempDir("work"),
        CI_REDIS_URL: redis.url,
        CI_SERVER_BUILDS: "true",
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
      },
      tempDir("cwd"),
    );
    await waitUntilServing(server, "/ping");
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop()]);
    await Promise.allSettled([redis?.stop(), sshd?.stop(), fake?.stop()]);
    repo?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("builds a pull request with no worker connected, as its own worker, and lists itself as one", async () => {
    const sha = repo.sha;
    const res = await sendWebhook({
      url: `${publicUrl}/api/github/webhooks`,
      secret,
      event: "pull_request",
      payload: pullRequestPayload({
        action: "opened",
        owner: OWNER,
        repo: REPO,
        number: 5,
        headSha: sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: "http://127.0.0.1:9/acme/solo.git",
        installationId: INSTALLATION_ID,
      }),
    });
    expect(res.status, res.body).toBeLessThan(300);
    const run = () => fake.checkRuns.find((r) => r.fields.head_sha === sha);
    await fake.waitFor(() => run()?.fields.status === "completed", 90_000);
    expect(run()!.fields.conclusion).toBe("success");
    expect(latestStatus(fake.statuses, sha, "ci/test")!.body.state).toBe("success");
    const own = `${hostname()}-server`;
    const page = await (await fetch(latestStatus(fake.statuses, sha, "ci/test")!.body.target_url as string)).text();
    expect(page).toContain(`Checked out ${sha.slice(0, 7)} on ${own}`);
    const listed = (await (
      await fetch(`${publicUrl}/api/workers`, { headers: { authorization: `Bearer ${adminToken}` } })
    ).json()) as { workers: { name: string }[] };
    expect(listed.workers.map((w) => w.name)).toEqual([own]);
  }, 120_000);
});
