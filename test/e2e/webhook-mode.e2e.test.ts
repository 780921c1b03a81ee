import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus, startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import {
  freePort,
  productionEnv,
  sandboxUids,
  sleep,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * The specification's plain-webhook mode, for a maintainer who cannot install
 * a GitHub App: a repository webhook sends pull requests to /build and merges
 * to /docs, signed with WEBHOOK_SECRET, and a personal access token from a
 * file (CI_GITHUB_TOKEN_FILE) writes commit statuses and the docs release.
 * No check run is ever asked for: a personal token cannot write one.
 */
const OWNER = "maintainer";
const REPO = "widgets";
const TOKEN = `github_pat_${randomBytes(30).toString("base64url")}`;
const SECRET = randomBytes(20).toString("hex");
const PROJECT = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "tests/__init__.py": "",
  "tests/test_calc.py":
    "import unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
};

let fake: FakeGitHub;
let sshd: TestSshd;
let server: ServerProcess;
let env: Record<string, string>;
let cwd: string;
const repos: TestRepo[] = [];
const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** A repository webhook's delivery: a pull_request event with no installation in it. */
function delivery(repo: TestRepo, action: "opened" | "closed", number: number) {
  const payload = pullRequestPayload({
    action,
    ...(action === "closed" ? { merged: true, mergeCommitSha: repo.sha } : {}),
    owner: OWNER,
    repo: REPO,
    number,
    headSha: action === "closed" ? "3".repeat(40) : repo.sha,
    sshUrl: sshd.sshUrl(repo.dir),
    cloneUrl: `http://127.0.0.1:9/${OWNER}/${REPO}.git`,
    installationId: 1,
  }) as unknown as Record<string, unknown>;
  delete payload.installation;
  return payload;
}

async function send(path: string, payload: Record<string, unknown>) {
  const res = await sendWebhook({ url: `${server.url}${path}`, secret: SECRET, event: "pull_request", payload });
  expect(res.status, res.body).toBeLessThan(300);
}

const state = (sha: string, context: string) => latestStatus(fake.statuses, sha, context)?.body.state;

beforeAll(async () => {
  fake = await startFakeGitHub({ acceptTokens: [TOKEN] });
  sshd = await startSshd();
  const secrets = tempDir("pyci-e2e-secrets-");
  writeFileSync(join(secrets, "token"), `${TOKEN}\n`, { mode: 0o600 });
  const port = await freePort();
  env = {
    ...productionEnv(),
    CI_GITHUB_TOKEN_FILE: join(secrets, "token"),
    WEBHOOK_SECRET: SECRET,
    PORT: String(port),
    GHE_HOST: fake.host,
    CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
    CI_DATA_DIR: tempDir("pyci-e2e-data-"),
    CI_WORK_DIR: tempDir("pyci-e2e-work-"),
    CI_SSH_KEY_PATH: sshd.clientKeyPath,
    CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
  };
  cwd = tempDir("pyci-e2e-cwd-");
  server = spawnServer(env, cwd);
  await waitUntilServing(server, "/ping");
}, 30_000);

afterAll(async () => {
  await Promise.allSettled([server?.stop(), sshd?.stop(), fake?.stop()]);
  for (const repo of repos) repo.remove();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("without a GitHub App: a repository webhook and a token", () => {
  it("builds a pull request delivered to /build and reports commit statuses only", async () => {
    const repo = makeRepo(PROJECT);
    repos.push(repo);
    await send("/build", delivery(repo, "opened", 1));
    await fake.waitFor(() => !["pending", undefined].includes(state(repo.sha, "ci/test")), 90_000);
    expect(state(repo.sha, "ci/test"), server.output()).toBe("success");
    expect(state(repo.sha, "ci/check")).toBe("success");
    expect(fake.requests.filter((r) => r.path.includes("/check-runs"))).toEqual([]);
    expect(fake.violations).toEqual([]);
    expect(server.output()).not.toContain(TOKEN);
  }, 120_000);

  it("passes pyci doctor with the token instead of an App", async () => {
    // asynchronously: the fake GitHub answers from this process
    const doctor = await new Promise<{ code: number; stdout: string }>((resolve) =>
      execFile(
        process.execPath,
        [join(process.cwd(), "dist", "cli.js"), "doctor"],
        { cwd, env: { ...env, CI_SANDBOX_UIDS: sandboxUids(env.CI_DATA_DIR!) }, timeout: 60_000 },
        (error, stdout) => resolve({ code: error ? Number(error.code) : 0, stdout }),
      ),
    );
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(doctor.stdout).toMatch(
      /^✓ github: no App: a repository webhook's token \(CI_GITHUB_TOKEN\), statuses only$/m,
    );
    expect(doctor.stdout).not.toContain(TOKEN);
  }, 90_000);

  it("takes at /docs only merges, and at /build no merge: one webhook per endpoint builds nothing twice", async () => {
    const repo = makeRepo(PROJECT);
    repos.push(repo);
    const before = fake.requests.length;
    await send("/docs", delivery(repo, "opened", 2));
    await send("/build", delivery(repo, "closed", 2));
    await sleep(1500);
    expect(fake.requests.slice(before)).toEqual([]);
    expect(server.output()).toContain("delivery ignored: /docs builds pull requests closed");
    expect(server.output()).toContain("delivery ignored: /build builds pull requests opened");
  });

  it("builds the docs of a merge delivered to /docs and publishes them as a release with the token", async () => {
    const repo = makeRepo({
      ...PROJECT,
      "docs/conf.py": "project = 'widgets'\n",
      "docs/index.rst": "Widgets\n=======\n\nCall ``add``.\n",
    });
    repos.push(repo);
    await send("/docs", delivery(repo, "closed", 3));
    await fake.waitFor(() => !["pending", undefined].includes(state(repo.sha, "ci/docs")), 120_000);
    expect(state(repo.sha, "ci/docs"), server.output()).toBe("success");
    expect(fake.release(OWNER, REPO, `docs-${repo.sha.slice(0, 7)}`)).toBeDefined();
    expect(fake.asset(OWNER, REPO, `docs-${repo.sha.slice(0, 7)}`, "docs-html.tar.gz")).toBeDefined();
    expect(fake.requests.filter((r) => r.path.includes("/check-runs"))).toEqual([]);
    expect(fake.violations).toEqual([]);
  }, 150_000);
});
