import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, latestStatus } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import {
  freePort,
  sandboxUids,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
  productionEnv,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { BWRAP, ROOT_USER, SYSTEM_PYTHON } from "../support/hostile-build.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * The code under test is hostile: it dumps its environment and tries to read
 * the server's key files, database, .env and the server process's own
 * environment. The real server (`node dist/server.js`, `npm run build` first),
 * with every secret set the ways an operator sets them, must show none of it
 * on the build page, in the logs, or in the check run — in each sandbox this
 * machine can run.
 */

const APP_ID = 4343;
const INSTALLATION_ID = 78;
const OWNER = "acme";
const REPO = "hostile";

const modes: { mode: "bwrap" | "user"; python: string; runs: boolean }[] = [
  { mode: "bwrap", python: "python3", runs: BWRAP },
  { mode: "user", python: SYSTEM_PYTHON ?? "python3", runs: ROOT_USER && !!SYSTEM_PYTHON },
];

function hostileTest(paths: string[]): string {
  return `import json, os, unittest

PATHS = ${JSON.stringify(paths)}


class Hostile(unittest.TestCase):
    def test_steal(self):
        print("ENV=" + json.dumps(dict(os.environ), sort_keys=True))
        print("UID", os.getuid())
        for path in PATHS:
            try:
                if os.path.isdir(path):
                    print("STOLEN-LIST", path, os.listdir(path))
                else:
                    with open(path, "rb") as f:
                        print("STOLEN", path, f.read().decode("utf-8", "replace"))
            except OSError as e:
                print("DENIED", path, type(e).__name__)
`;
}

describe.each(modes)("untrusted code under test, CI_SANDBOX=$mode", ({ mode, python, runs }) => {
  const privateKey = generateAppKey();
  const webhookSecret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  const awsDecoy = `aws-decoy-${randomBytes(18).toString("hex")}`;
  const dotenvDecoy = `dotenv-decoy-${randomBytes(18).toString("hex")}`;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let server: ServerProcess;
  let secretsDir: string;
  let cwd: string;
  let dataDir: string;
  let workDir: string;
  let keyPath: string;
  let publicUrl: string;

  beforeAll(async () => {
    if (!runs) return;
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
    secretsDir = mkdtempSync(join(tmpdir(), "pyci-e2e-secrets-"));
    keyPath = join(secretsDir, "app.pem");
    writeFileSync(keyPath, privateKey, { mode: 0o600 });
    cwd = mkdtempSync(join(tmpdir(), "pyci-e2e-cwd-"));
    writeFileSync(join(cwd, ".env"), `DECOY_API_TOKEN=${dotenvDecoy}\n`, { mode: 0o600 });
    dataDir = mkdtempSync(join(tmpdir(), "pyci-e2e-data-"));
    workDir = mkdtempSync(join(tmpdir(), "pyci-e2e-work-"));
    // as CI_WORK_DIR's default (the OS temp dir) is: searchable by the sandbox user
    chmodSync(workDir, 0o711);
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        PRIVATE_KEY_PATH: keyPath,
        WEBHOOK_SECRET: webhookSecret,
        AWS_SECRET_ACCESS_KEY: awsDecoy,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: publicUrl,
        CI_DATA_DIR: dataDir,
        CI_WORK_DIR: workDir,
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_SANDBOX: mode,
        CI_PYTHON: python,
        CI_CONCURRENCY: "1",
      },
      cwd,
    );
    await waitUntilServing(server, "/ping");
    const targets = [
      keyPath,
      sshd.clientKeyPath,
      join(dataDir, "pyci.db"),
      dataDir,
      join(cwd, ".env"),
      `/proc/${server.child.pid}/environ`,
    ];
    repo = makeRepo({ "test_hostile.py": hostileTest(targets) });
  }, 60_000);

  afterAll(async () => {
    if (!runs) return;
    await Promise.allSettled([server?.stop(), sshd?.stop(), fake?.stop()]);
    repo?.remove();
    for (const dir of [secretsDir, cwd, dataDir, workDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(!runs)(
    "dumps nothing secret and reads none of the server's files",
    async () => {
      const payload = pullRequestPayload({
        action: "opened",
        owner: OWNER,
        repo: REPO,
        number: 3,
        headSha: repo.sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: "http://127.0.0.1:9/acme/hostile.git",
        installationId: INSTALLATION_ID,
        title: "Totally harmless",
      });
      const res = await sendWebhook({
        url: `${publicUrl}/api/github/webhooks`,
        secret: webhookSecret,
        event: "pull_request",
        payload,
      });
      expect(res.status, res.body).toBeLessThan(300);
      await fake.waitFor(() => fake.checkRuns.some((r) => r.fields.status === "completed"), 90_000);

      // the suite ran, in the sandbox, and its reads all failed
      const test = latestStatus(fake.statuses, repo.sha, "ci/test")!.body;
      expect(test.state, JSON.stringify(test)).toBe("success");
      const buildUrl = test.target_url as string;
      const logText = await (await fetch(`${buildUrl}/test.log`)).text();
      expect(logText).toContain("ENV=");
      expect(logText).not.toMatch(/STOLEN/);
      const denied = [...logText.matchAll(/^DENIED (\S+) (\w+)$/gm)].map((m) => [m[1], m[2]]);
      expect(denied).toHaveLength(6);
      for (const [, error] of denied) expect(error).toMatch(/^(PermissionError|FileNotFoundError)$/);
      // a uid of the build's own (from the server's CI_SANDBOX_UIDS), not root's, not nobody's
      const uid = Number(/^UID (\d+)$/m.exec(logText)?.[1]);
      const [first, last] = sandboxUids(dataDir).split("-").map(Number);
      expect(uid).toBeGreaterThanOrEqual(first!);
      expect(uid).toBeLessThanOrEqual(last!);

      // its environment is the allow-list
      const env = JSON.parse(/ENV=(\{.*\})$/m.exec(logText)![1]!) as Record<string, string>;
      const allowed = /^(PATH|HOME|TMPDIR|LANG|LC_ALL|PYTHON[A-Z]+|PIP_[A-Z_]+|PYCI_RUN|PWD|SHLVL|_)$/;
      expect(Object.keys(env).filter((name) => !allowed.test(name))).toEqual([]);

      // and nothing secret is anywhere pyci shows or stores
      const html = await (await fetch(buildUrl)).text();
      const run = fake.checkRuns.at(-1)!;
      const keyLines = (text: string) => text.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
      const secrets = [
        webhookSecret,
        awsDecoy,
        dotenvDecoy,
        ...keyLines(privateKey),
        ...keyLines(readFileSync(sshd.clientKeyPath, "utf8")),
      ];
      const places: [string, string][] = [
        ["test.log", logText],
        ["build page", html],
        ["check run", JSON.stringify(run.fields)],
        ["statuses", JSON.stringify(fake.statuses)],
      ];
      for (const [where, text] of places) {
        expect(
          secrets.filter((s) => text.includes(s)),
          `secrets in ${where}`,
        ).toEqual([]);
        expect(text, where).not.toContain("SQLite format 3");
      }
    },
    120_000,
  );
});
