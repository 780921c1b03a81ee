import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub, latestStatus } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import {
  freePort,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
  productionEnv,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { BWRAP, ROOT_USER, SYSTEM_PYTHON } from "../support/hostile-build.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * Without PRIVATE_KEY or PRIVATE_KEY_PATH, Probot takes the one `.pem` in its
 * working directory as the App's key, and an operator's umask leaves it
 * 0644. The real server (`node dist/server.js`, `npm run build` first) must
 * keep it from the code under test: in bwrap, hidden even where the working
 * directory is inside the sandbox's view (/usr/src/app, Docker's habit), with
 * a warning; in user mode, where nothing is hidden, start-up refuses until
 * the file is not readable by the sandbox user, and then the code cannot read it.
 */

/** Where Docker images keep their app (/usr/src/app): inside bwrap's read-only /usr. */
const UNDER_USR = "/usr/local/src";

const APP_ID = 4545;
const INSTALLATION_ID = 79;

/** Reads the key, printing how many bytes it got and what. */
function hostileTest(path: string): string {
  return `import os, unittest

PATH = ${JSON.stringify(path)}


class Hostile(unittest.TestCase):
    def test_steal(self):
        print("LISTED", sorted(os.listdir(os.path.dirname(PATH))) if os.path.isdir(os.path.dirname(PATH)) else None)
        try:
            with open(PATH, "rb") as f:
                data = f.read()
            print("READ", len(data), data.decode("utf-8", "replace"))
        except OSError as e:
            print("DENIED", type(e).__name__)
`;
}

describe("the .pem Probot finds in pyci's working directory", () => {
  const privateKey = generateAppKey();
  const keyLines = privateKey.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));
  const webhookSecret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  const runs = ROOT_USER && (BWRAP || !!SYSTEM_PYTHON);
  let fake: FakeGitHub;
  let sshd: TestSshd;
  const dirs: string[] = [];
  const repos: TestRepo[] = [];
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    if (!runs) return;
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
  }, 60_000);
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });
  afterAll(async () => {
    if (!runs) return;
    await Promise.allSettled([sshd?.stop(), fake?.stop()]);
    for (const repo of repos) repo.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A working directory as an operator leaves it: 0755, the App's key beside it as app.pem, mode 0644. */
  function workingDirectory(parent: string): { cwd: string; pem: string } {
    const cwd = mkdtempSync(join(parent, "pyci-e2e-cwd-"));
    dirs.push(cwd);
    chmodSync(cwd, 0o755);
    const pem = join(cwd, "app.pem");
    writeFileSync(pem, privateKey);
    chmodSync(pem, 0o644);
    return { cwd, pem };
  }

  async function start(cwd: string, mode: "bwrap" | "user", python: string): Promise<ServerProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), "pyci-e2e-data-"));
    const workDir = mkdtempSync(join(tmpdir(), "pyci-e2e-work-"));
    dirs.push(dataDir, workDir);
    chmodSync(workDir, 0o711);
    const port = await freePort();
    // no PRIVATE_KEY, no PRIVATE_KEY_PATH: Probot looks in the working directory
    return spawnServer(
      {
        ...productionEnv(),
        APP_ID: String(APP_ID),
        WEBHOOK_SECRET: webhookSecret,
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
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
  }

  /** Builds a pull request whose test reads `pem`; returns its test log. */
  async function buildReading(running: ServerProcess, pem: string, number: number): Promise<string> {
    const repo = makeRepo({ "test_hostile.py": hostileTest(pem) });
    repos.push(repo);
    const payload = pullRequestPayload({
      action: "opened",
      owner: "acme",
      repo: "hostile",
      number,
      headSha: repo.sha,
      sshUrl: sshd.sshUrl(repo.dir),
      cloneUrl: "http://127.0.0.1:9/acme/hostile.git",
      installationId: INSTALLATION_ID,
      title: "Totally harmless",
    });
    const res = await sendWebhook({
      url: `${running.url}/api/github/webhooks`,
      secret: webhookSecret,
      event: "pull_request",
      payload,
    });
    expect(res.status, res.body).toBeLessThan(300);
    await fake.waitFor(
      () =>
        latestStatus(fake.statuses, repo.sha, "ci/test")?.body.state !== "pending" &&
        !!latestStatus(fake.statuses, repo.sha, "ci/test"),
      90_000,
    );
    const test = latestStatus(fake.statuses, repo.sha, "ci/test")!.body;
    expect(test.state, JSON.stringify(test)).toBe("success");
    return (await fetch(`${test.target_url as string}/test.log`)).text();
  }

  it.skipIf(!runs || !BWRAP)(
    "bwrap: hidden from the code under test even under /usr, and start-up warns that others can read it",
    async () => {
      const { cwd, pem } = workingDirectory(UNDER_USR);
      server = await start(cwd, "bwrap", "python3");
      await waitUntilServing(server, "/ping");
      expect(server.output()).toContain(`chmod o-rwx ${pem}`);

      const log = await buildReading(server, pem, 11);
      expect(log).toContain("LISTED");
      expect(log).toMatch(/^(READ 0 |DENIED )/m);
      expect(keyLines.filter((line) => log.includes(line))).toEqual([]);
    },
    120_000,
  );

  it.skipIf(!runs || !SYSTEM_PYTHON)(
    "user: start-up refuses while the sandbox user could read it, names it and the chmod; after the chmod the code under test cannot",
    async () => {
      const { cwd, pem } = workingDirectory(tmpdir());
      server = await start(cwd, "user", SYSTEM_PYTHON!);
      const exit = await Promise.race([
        server.exited,
        new Promise<"running">((resolve) => setTimeout(() => resolve("running"), 20_000)),
      ]);
      expect(exit, server.output()).not.toBe("running");
      expect(exit).toMatchObject({ code: 1 });
      expect(server.output()).toContain(pem);
      expect(server.output()).toContain(`chmod o-rwx ${pem}`);

      chmodSync(pem, 0o600);
      server = await start(cwd, "user", SYSTEM_PYTHON!);
      await waitUntilServing(server, "/ping");
      const log = await buildReading(server, pem, 12);
      expect(log).toContain("DENIED PermissionError");
      expect(keyLines.filter((line) => log.includes(line))).toEqual([]);
    },
    120_000,
  );
});
