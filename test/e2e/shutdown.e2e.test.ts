import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import {
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
 * SIGTERM at the real server (`node dist/server.js`; `npm run build` first): it stops listening at once
 * (new deliveries cannot get in; GitHub shows them failed and they can be redelivered), lets the running
 * build finish and report within CI_SHUTDOWN_GRACE, and exits 0. A second signal exits at once.
 */

const APP_ID = 7070;
const INSTALLATION_ID = 12;

/** A test that takes `seconds`. */
const slowProject = (seconds: number) => ({
  "test_slow.py": `import time\nimport unittest\n\n\nclass SlowTest(unittest.TestCase):\n    def test_slow(self):\n        time.sleep(${seconds})\n`,
});

describe("SIGTERM", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-shutdown-${randomBytes(12).toString("base64url")}`;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  const repos: TestRepo[] = [];
  const roots: string[] = [];
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
  });

  afterAll(async () => {
    await Promise.allSettled([...servers.map((s) => s.kill9()), sshd?.stop(), fake?.stop()]);
    // the build a second signal abandoned is still sleeping in its own process group
    for (const root of roots)
      for (const pid of processesUnder(root)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
    for (const repo of repos) repo.remove();
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  async function start(graceSeconds: number): Promise<{ server: ServerProcess; hookUrl: string }> {
    const root = mkdtempSync(join(tmpdir(), "pyci-shutdown-"));
    roots.push(root);
    const port = await freePort();
    const server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: join(root, "data"),
        CI_WORK_DIR: mkdtempSync(join(root, "work-")),
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_SHUTDOWN_GRACE: String(graceSeconds),
      },
      mkdtempSync(join(root, "cwd-")),
    );
    servers.push(server);
    expect((await waitUntilServing(server, "/ping")).status).toBe(200);
    return { server, hookUrl: `http://127.0.0.1:${port}/api/github/webhooks` };
  }

  async function startBuild(hookUrl: string, seconds: number, number: number): Promise<string> {
    const repo = makeRepo(slowProject(seconds));
    repos.push(repo);
    const payload = pullRequestPayload({
      action: "opened",
      owner: "acme",
      repo: "widgets",
      number,
      headSha: repo.sha,
      sshUrl: sshd.sshUrl(repo.dir),
      cloneUrl: "http://127.0.0.1:9/acme/widgets.git",
      installationId: INSTALLATION_ID,
    });
    const res = await sendWebhook({ url: hookUrl, secret, event: "pull_request", payload });
    expect(res.status, res.body).toBe(200);
    // running: the check run went in_progress
    await fake.waitFor(
      () => fake.checkRuns.some((r) => r.fields.head_sha === repo.sha && r.fields.status === "in_progress"),
      60_000,
    );
    return repo.sha;
  }

  it("stops taking deliveries, lets the running build finish and report, and exits 0", async () => {
    const { server, hookUrl } = await start(60);
    const sha = await startBuild(hookUrl, 4, 1);

    server.child.kill("SIGTERM");
    // the listening socket is closed at once: a new delivery cannot get in
    await expect
      .poll(
        async () =>
          fetch(hookUrl, { method: "POST" }).then(
            () => "answered",
            () => "refused",
          ),
        { timeout: 5_000 },
      )
      .toBe("refused");
    expect(server.alive(), "exits only once the build is done").toBe(true);

    const exit = await server.exited;
    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    const test = fake.statuses.filter((s) => s.sha === sha && s.body.context === "ci/test").at(-1)!.body;
    expect(test.state, JSON.stringify(test)).toBe("success");
    expect(fake.checkRuns.find((r) => r.fields.head_sha === sha)!.fields).toMatchObject({
      status: "completed",
      conclusion: "success",
    });
  }, 120_000);

  it("exits at once on a second signal, without waiting for the build", async () => {
    const { server, hookUrl } = await start(600);
    const sha = await startBuild(hookUrl, 600, 2);

    server.child.kill("SIGTERM");
    await expect.poll(() => server.output().includes("shutting down"), { timeout: 5_000 }).toBe(true);
    expect(server.alive()).toBe(true);
    server.child.kill("SIGTERM");
    const exit = await server.exited;
    expect(exit.code, server.output()).toBe(1);
    expect(fake.checkRuns.find((r) => r.fields.head_sha === sha)!.fields.status).not.toBe("completed");
  }, 120_000);
});
