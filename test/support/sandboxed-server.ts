import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { generateAppKey } from "./app-key.js";
import { startFakeGitHub, type FakeGitHub } from "./fake-github.js";
import { makeRepo, type TestRepo } from "./git-repo.js";
import type { SandboxMode } from "./hostile-build.js";
import { pullRequestPayload } from "./payloads.js";
import { freePort, productionEnv, spawnServer, waitUntilServing, type ServerProcess } from "./server-process.js";
import { startSshd, type TestSshd } from "./sshd.js";
import { sendWebhook } from "./webhook.js";

const OWNER = "acme";

/** The real server (`node dist/server.js`) in a sandbox mode, with a fake GitHub and a real sshd to clone from. */
export interface SandboxedServer {
  fake: FakeGitHub;
  sshd: TestSshd;
  /** The server running now: after restart(), the new one. */
  server: ServerProcess;
  /** Where it listens on 127.0.0.1 (the same after a restart). */
  port: number;
  /** What it must never show: the App's key and the webhook secret it was started with. */
  privateKey: string;
  webhookSecret: string;
  /** With `keyFile`: the file (0600) that holds the App's key, in a directory of its own. */
  keyPath?: string;
  /** Its CI_DATA_DIR, CI_WORK_DIR and working directory. */
  dataDir: string;
  workDir: string;
  cwd: string;
  /** Opens a pull request of a new repository holding `files`; resolves once it is delivered, with the commit. */
  openPullRequest(name: string, files: Record<string, string>): Promise<string>;
  /** Starts the server again, on the same environment, directories and port, once the running one was stopped or killed. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface SandboxedServerOptions {
  appId: number;
  installationId: number;
  /** Adds to, or overrides, the server's environment. */
  env?: Record<string, string>;
  /** Goes first in the server's environment: what a read of its /proc/self/environ starts with. */
  first?: Record<string, string>;
  /** The App's key in a file (PRIVATE_KEY_PATH, `keyPath`) rather than in PRIVATE_KEY. */
  keyFile?: boolean;
  /** Files (0600) left in its working directory before it starts: a .env, say. */
  cwdFiles?: Record<string, string>;
  /** CI_WORK_DIR's mode; by default 0711, as the OS temp dir is to build uids. */
  workDirMode?: number;
}

/** Starts one for the end-to-end tests of hostile repository code: what they share. */
export async function startSandboxedServer(
  mode: SandboxMode,
  options: SandboxedServerOptions,
): Promise<SandboxedServer> {
  const privateKey = generateAppKey();
  const webhookSecret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  const [fake, sshd] = await Promise.all([startFakeGitHub({ appId: options.appId, privateKey }), startSshd()]);
  const dirs = ["cwd", "data", "work"].map((name) => mkdtempSync(join(tmpdir(), `pyci-e2e-${name}-`)));
  const [cwd, dataDir, workDir] = dirs as [string, string, string];
  chmodSync(workDir, options.workDirMode ?? 0o711);
  for (const [name, content] of Object.entries(options.cwdFiles ?? {}))
    writeFileSync(join(cwd, name), content, { mode: 0o600 });
  let keyPath: string | undefined;
  if (options.keyFile) {
    const secretsDir = mkdtempSync(join(tmpdir(), "pyci-e2e-secrets-"));
    dirs.push(secretsDir);
    keyPath = join(secretsDir, "app.pem");
    writeFileSync(keyPath, privateKey, { mode: 0o600 });
  }
  const port = await freePort();
  const env = {
    ...options.first,
    ...productionEnv(),
    APP_ID: String(options.appId),
    ...(keyPath ? { PRIVATE_KEY_PATH: keyPath } : { PRIVATE_KEY: privateKey }),
    WEBHOOK_SECRET: webhookSecret,
    PORT: String(port),
    GHE_HOST: fake.host,
    CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
    CI_DATA_DIR: dataDir,
    CI_WORK_DIR: workDir,
    CI_SSH_KEY_PATH: sshd.clientKeyPath,
    CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
    CI_SANDBOX: mode.mode,
    CI_PYTHON: mode.python,
    ...options.env,
  };
  const servers: ServerProcess[] = [];
  const start = async () => {
    const server = spawnServer(env, cwd);
    servers.push(server);
    await waitUntilServing(server, "/ping");
    return server;
  };
  const repos: TestRepo[] = [];
  let pr = 40;
  const pyci: SandboxedServer = {
    fake,
    sshd,
    server: await start(),
    port,
    privateKey,
    webhookSecret,
    keyPath,
    dataDir,
    workDir,
    cwd,
    async openPullRequest(name, files) {
      const repo = makeRepo(files);
      repos.push(repo);
      const payload = pullRequestPayload({
        action: "opened",
        owner: OWNER,
        repo: name,
        number: ++pr,
        headSha: repo.sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: `http://127.0.0.1:9/${OWNER}/${name}.git`,
        installationId: options.installationId,
        title: name,
      });
      const res = await sendWebhook({
        url: `${pyci.server.url}/api/github/webhooks`,
        secret: webhookSecret,
        event: "pull_request",
        payload,
      });
      expect(res.status, res.body).toBeLessThan(300);
      return repo.sha;
    },
    async restart() {
      pyci.server = await start();
    },
    async stop() {
      await Promise.allSettled([...servers.map((server) => server.stop()), sshd.stop(), fake.stop()]);
      for (const repo of repos) repo.remove();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
  return pyci;
}
