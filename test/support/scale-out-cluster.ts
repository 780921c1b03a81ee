import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateAppKey } from "./app-key.js";
import { latestStatus, startFakeGitHub, type FakeGitHub } from "./fake-github.js";
import { makeRepo, type TestRepo } from "./git-repo.js";
import { pullRequestPayload, type PullRequestPayloadOptions } from "./payloads.js";
import { startRedis, type TestRedis } from "./redis-server.js";
import { freePort, productionEnv, spawnServer, waitUntilServing, type ServerProcess } from "./server-process.js";
import { startSshd, type TestSshd } from "./sshd.js";
import { sendWebhook, type WebhookResponse } from "./webhook.js";
import { startReadyWorker, workerEnv } from "./worker-process.js";

export interface ScaleOutOptions {
  /** Names its temporary dirs: `pyci-<prefix>-<name>-…`. */
  prefix: string;
  appId: number;
  /** The repository pull requests come from, by default (pullRequest). */
  owner: string;
  repo: string;
  /** Unless a test gives each pull request one of its own. */
  installationId?: number;
  /** The first commit of `repo`, a real git repository served by the sshd. */
  files: Record<string, string>;
}

/** A server process of the cluster, with what it was started with (to start it again: restartServer). */
export interface ClusterServer extends ServerProcess {
  env: Record<string, string>;
  cwd: string;
}

/** A `pyci worker` of the cluster, with the dirs of its own (the places code under test must not reach). */
export interface ClusterWorker extends ServerProcess {
  name: string;
  dataDir: string;
  workDir: string;
  cwd: string;
}

export interface ServerOptions {
  /** Extra or overriding env. */
  env?: Record<string, string>;
  /** CI_REDIS_URL: hands builds to workers (default); false: a server of one machine, building itself. */
  redis?: boolean;
  /** The sshd's client key and known_hosts; default: only without Redis (a server with workers clones nothing). */
  ssh?: boolean;
  /** The fake GitHub it reports to; default the cluster's. */
  fake?: FakeGitHub;
}

export interface WorkerOptions {
  env?: Record<string, string>;
  /** The sshd's client key (default); false: no SSH key, it clones over HTTPS. */
  ssh?: boolean;
  /** Its working directory, where an operator's .env would be; default a new one. */
  cwd?: string;
}

/**
 * Scale-out's moving parts on loopback (docs/scale-out.md): a real redis-server (password, AOF),
 * the fake GitHub, a real sshd serving a real repository, and the App's secrets. Servers and
 * workers are started on demand, each in dirs of its own; stop() ends all of it.
 */
export interface ScaleOutCluster {
  redis: TestRedis;
  fake: FakeGitHub;
  sshd: TestSshd;
  repo: TestRepo;
  privateKey: string;
  /** The webhook secret. */
  secret: string;
  /** Handed to no process unless a test passes it (CI_ADMIN_TOKEN). */
  adminToken: string;
  /** A new temporary directory, removed by stop(). */
  tempDir(name: string): string;
  /** Another fake GitHub for the same App, stopped by stop(). */
  addFakeGitHub(): Promise<FakeGitHub>;
  /** `node dist/server.js` as the App on a free port, once it answers /ping; its dirs are `<name>-data` etc. */
  startServer(name: string, options?: ServerOptions): Promise<ClusterServer>;
  /** The same server again (after it was killed or stopped): same env, port, dirs. */
  restartServer(server: Pick<ClusterServer, "env" | "cwd">): Promise<ClusterServer>;
  /** `pyci worker` named `name` on the cluster's Redis (workerEnv), once it is ready. */
  startWorker(name: string, options?: WorkerOptions): Promise<ClusterWorker>;
  /** Delivers a signed pull_request webhook to the server at `url`: by default "opened", of options.repo, cloned over SSH. */
  pullRequest(url: string, fields: Partial<PullRequestPayloadOptions> & PullRequestHead): Promise<WebhookResponse>;
  /** Stops every server and worker, then Redis, sshd and the fakes; removes the repository and dirs. */
  stop(): Promise<void>;
}

type PullRequestHead = Pick<PullRequestPayloadOptions, "number" | "headSha">;

/** Starts Redis, the fake GitHub and sshd side by side; stops what did start when one fails. */
export async function startScaleOutCluster(options: ScaleOutOptions): Promise<ScaleOutCluster> {
  const privateKey = generateAppKey();
  const started = await Promise.allSettled([
    startRedis(),
    startFakeGitHub({ appId: options.appId, privateKey }),
    startSshd(),
  ] as const);
  const [redis, fake, sshd] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined)) as [
    TestRedis?,
    FakeGitHub?,
    TestSshd?,
  ];
  if (!redis || !fake || !sshd) {
    await Promise.allSettled([redis?.stop(), fake?.stop(), sshd?.stop()]);
    throw (started.find((s) => s.status === "rejected") as PromiseRejectedResult).reason;
  }
  const repo = makeRepo(options.files);
  const secret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  const fakes = [fake];
  const processes: ServerProcess[] = [];
  const dirs: string[] = [];
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `pyci-${options.prefix}-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const serve = async (env: Record<string, string>, cwd: string): Promise<ClusterServer> => {
    const server = Object.assign(spawnServer(env, cwd), { env, cwd });
    processes.push(server);
    await waitUntilServing(server, "/ping");
    return server;
  };

  return {
    redis,
    fake,
    sshd,
    repo,
    privateKey,
    secret,
    adminToken: randomBytes(24).toString("hex"),
    tempDir,
    async addFakeGitHub() {
      const another = await startFakeGitHub({ appId: options.appId, privateKey });
      fakes.push(another);
      return another;
    },
    async startServer(name, { env = {}, redis: withRedis = true, ssh = !withRedis, fake: reportsTo = fake } = {}) {
      const port = await freePort();
      const serverEnv = {
        ...productionEnv(),
        APP_ID: String(options.appId),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        GHE_HOST: reportsTo.host,
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: tempDir(`${name}-data`),
        CI_WORK_DIR: tempDir(`${name}-work`),
        ...(withRedis ? { CI_REDIS_URL: redis.url } : {}),
        ...(ssh ? { CI_SSH_KEY_PATH: sshd.clientKeyPath, CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath } : {}),
        ...env,
      };
      return serve(serverEnv, tempDir(`${name}-cwd`));
    },
    restartServer: (server) => serve(server.env, server.cwd),
    async startWorker(name, { env = {}, ssh = true, cwd = tempDir(`${name}-cwd`) } = {}) {
      const dataDir = tempDir(`${name}-data`);
      const workDir = tempDir(`${name}-work`);
      const setting = { redisUrl: redis.url, name, dataDir, workDir, sshd: ssh ? sshd : undefined };
      const worker = await startReadyWorker(workerEnv(setting, env), cwd);
      processes.push(worker);
      return Object.assign(worker, { name, dataDir, workDir, cwd });
    },
    pullRequest(url, fields) {
      const repoName = fields.repo ?? options.repo;
      const installationId = fields.installationId ?? options.installationId;
      if (installationId === undefined) throw new Error("pullRequest: no installationId, in the options or the fields");
      const payload = pullRequestPayload({
        action: "opened",
        owner: options.owner,
        sshUrl: sshd.sshUrl(repo.dir),
        // nothing answers on port 9: the workers clone over SSH unless a test gives a cloneUrl of its own
        cloneUrl: `http://127.0.0.1:9/${fields.owner ?? options.owner}/${repoName}.git`,
        ...fields,
        installationId,
        repo: repoName,
      });
      return sendWebhook({ url: `${url}/api/github/webhooks`, secret, event: "pull_request", payload });
    },
    async stop() {
      await Promise.allSettled(processes.map((p) => p.stop()));
      await Promise.allSettled([redis.stop(), sshd.stop(), ...fakes.map((f) => f.stop())]);
      repo.remove();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Final statuses for ci/check and ci/test and a completed check run: the commit's build is reported. */
export function buildFinished(fake: FakeGitHub, sha: string): boolean {
  return (
    ["ci/check", "ci/test"].every((c) => latestStatus(fake.statuses, sha, c)?.body.state !== "pending") &&
    fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed")
  );
}
