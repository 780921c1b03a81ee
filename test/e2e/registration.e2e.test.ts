import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { latestStatus, startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { freePort, sandboxUids, spawnServer, waitUntilServing, type ServerProcess } from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * A new user registers pyci's GitHub App as the README says: `npm start`
 * without credentials, the registration page, GitHub (the fake) creating the
 * App from pyci's manifest and sending the browser back with a code, `.env`
 * written, a restart, and a delivery turned into statuses.
 */
const APP_ID = 4242;
const INSTALLATION = 77;
const privateKey = generateAppKey();
const webhookSecret = randomBytes(20).toString("hex");

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
let fake: FakeGitHub | undefined;
let sshd: TestSshd | undefined;
let repo: TestRepo | undefined;
const servers: ServerProcess[] = [];

afterAll(async () => {
  await Promise.allSettled([...servers.map((s) => s.stop()), fake?.stop(), sshd?.stop()]);
  repo?.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** The value of the page's form field `name`, as the browser would post it. */
function formField(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!m) throw new Error(`no field ${name} in:\n${html}`);
  return m[1]!
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

describe("registering the GitHub App", () => {
  it("creates the App from pyci's manifest, keeps its credentials in .env, and builds after a restart", async () => {
    fake = await startFakeGitHub({ appId: APP_ID, privateKey });
    sshd = await startSshd();
    const cwd = tempDir("pyci-e2e-register-");
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const env = {
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      HOST: "127.0.0.1",
      LOG_LEVEL: "info",
      PORT: String(port),
      GHE_HOST: fake.host,
      GHE_PROTOCOL: "http",
      GH_ORG: "acme-org",
      CI_PUBLIC_URL: publicUrl,
      CI_DATA_DIR: tempDir("pyci-e2e-data-"),
      CI_WORK_DIR: tempDir("pyci-e2e-work-"),
      CI_SSH_KEY_PATH: sshd.clientKeyPath,
      CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
    };

    // 1. no credentials: the registration page
    const setup = spawnServer(env, cwd);
    servers.push(setup);
    const page = await waitUntilServing(setup, "/probot");
    const html = await page.text();
    expect(page.status, html).toBe(200);
    expect(html).toContain(`action="http://${fake.host}/organizations/acme-org/settings/apps/new"`);
    const manifest = JSON.parse(formField(html, "manifest")) as Record<string, any>;
    expect(manifest.hook_attributes).toEqual({ url: `${publicUrl}/api/github/webhooks`, active: true });
    expect(manifest.redirect_url).toBe(`${publicUrl}/probot/setup`);
    expect([...manifest.default_events].sort()).toEqual(["check_run", "check_suite", "pull_request"]);
    expect(manifest.default_permissions).toEqual({
      checks: "write",
      statuses: "write",
      contents: "write",
      pull_requests: "read",
      metadata: "read",
    });

    // 2. GitHub creates the App and sends the browser back with a code
    const code = fake.createAppFromManifest(manifest, { id: APP_ID, privateKey, webhookSecret });
    const back = await fetch(`${manifest.redirect_url}?code=${code}`, { redirect: "manual" });
    expect(back.status, await back.clone().text()).toBe(302);
    expect(back.headers.get("location")).toMatch(/\/apps\/pyci-test\/installations\/new$/);
    expect(fake.requests.map((r) => `${r.method} ${r.path}`)).toContain(`POST /app-manifests/${code}/conversions`);
    // a code is good once: a second visit is refused, and .env is not written again
    expect((await fetch(`${manifest.redirect_url}?code=${code}`, { redirect: "manual" })).status).toBe(502);

    // 3. .env: the App's credentials, readable by pyci's user only, never printed
    const envFile = join(cwd, ".env");
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    const saved = parseEnv(readFileSync(envFile, "utf8"));
    expect(saved).toMatchObject({ APP_ID: String(APP_ID), PRIVATE_KEY: privateKey, WEBHOOK_SECRET: webhookSecret });
    const keyLines = privateKey.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
    expect(keyLines.filter((line) => setup.output().includes(line))).toEqual([]);
    expect(setup.output()).not.toContain(webhookSecret);
    expect(setup.output()).toContain("restart pyci");
    await setup.stop();

    // 4. pyci doctor, where the server runs: the registered App authenticates and is installed
    //    (asynchronously: the fake GitHub answers from this process)
    const doctor = await new Promise<{ status: number | null; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [join(process.cwd(), "dist", "cli.js"), "doctor"],
        { cwd, env: { ...env, CI_SANDBOX_UIDS: sandboxUids(env.CI_DATA_DIR) }, timeout: 60_000 },
        (error, stdout) => resolve({ status: error ? ((error.code as number | undefined) ?? null) : 0, stdout }),
      ),
    );
    expect(doctor.status, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(/^✓ github: App pyci-test \(id 4242\) authenticates$/m);
    expect(doctor.stdout).toMatch(/^✓ installations: installed on /m);

    // 5. restarted: the App's deliveries build
    const server = spawnServer(env, cwd);
    servers.push(server);
    await waitUntilServing(server, "/ping");
    repo = makeRepo({
      "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
      "tests/__init__.py": "",
      "tests/test_calc.py":
        "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
    });
    const res = await sendWebhook({
      url: `${server.url}/api/github/webhooks`,
      secret: webhookSecret,
      event: "pull_request",
      payload: pullRequestPayload({
        action: "opened",
        owner: "acme-org",
        repo: "calc",
        number: 1,
        headSha: repo.sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: "http://127.0.0.1:9/acme-org/calc.git",
        installationId: INSTALLATION,
      }),
    });
    expect(res.status, res.body).toBeLessThan(300);
    const done = (context: string) => latestStatus(fake!.statuses, repo!.sha, context)?.body.state;
    await fake.waitFor(() => !["pending", undefined].includes(done("ci/test")), 90_000);
    expect(
      fake.statuses.map((s) => `${s.body.context}: ${s.body.state} ${s.body.description}`),
      server.output(),
    ).toContain("ci/test: success 1 test passed");
    expect(done("ci/check")).toBe("success");
    expect(fake.violations).toEqual([]);
  }, 150_000);
});
