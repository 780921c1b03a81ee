import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { startGitHttpServer, type GitHttpServer } from "../support/git-http-server.js";
import { keyLines, secretsIn } from "../support/hostile-build.js";
import { redisMissing } from "../support/redis-server.js";
import {
  buildFinished,
  startScaleOutCluster,
  type ClusterServer,
  type ClusterWorker,
  type ScaleOutCluster,
} from "../support/scale-out-cluster.js";
import { workerHuntProbe } from "../support/worker-hunt-probe.js";

/**
 * Issue 17, least privilege on workers: the code under test on a real `pyci worker` (default
 * sandbox) dumps its environment, reads what it can reach of the worker's (its data and work
 * dirs, the .env beside it, its own and pid 1's environment, the directories above its checkout,
 * any .env) and talks to the real redis-server on loopback: Redis refuses it (NOAUTH) and no AUTH
 * with anything it found is accepted; it finds no Redis password, App key, webhook secret, admin
 * token or installation token — on a worker cloning over HTTPS (with a token the server scoped to
 * the repository, read only) and on one cloning over SSH (its own key). Needs `npm run build`.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out secrets e2e skipped: ${missing}`);

const REPO = "hunted";
/** What the code under test's environment may hold (as test/e2e/untrusted-code.e2e.test.ts allows). */
const ALLOWED_ENV = /^(PATH|HOME|TMPDIR|LANG|LC_ALL|PYTHON[A-Z]+|PIP_[A-Z_]+|PYCI_RUN|PWD|SHLVL|_)$/;

describe.skipIf(missing)("the code under test on a worker", () => {
  const dotenvDecoy = `dotenv-decoy-${randomBytes(18).toString("hex")}`;
  let cluster: ScaleOutCluster;
  let gitHttp: GitHttpServer;
  let server: ClusterServer;
  const workers: ClusterWorker[] = [];
  /** Tokens the fake GitHub minted for one repository, contents: read (the workers' clone tokens). */
  const scopedTokens = () =>
    cluster.fake.requests
      .filter((r) => r.method === "POST" && /access_tokens$/.test(r.path))
      .filter(
        (r) =>
          JSON.stringify((r.body as { repositories?: string[] } | undefined)?.repositories) === JSON.stringify([REPO]),
      )
      .map((r) => (r.response as { token: string }).token);

  beforeAll(async () => {
    cluster = await startScaleOutCluster({
      prefix: "hunt",
      appId: 4747,
      owner: "acme",
      repo: REPO,
      installationId: 91,
      files: { "README.md": "hunted\n" },
    });
    gitHttp = await startGitHttpServer(cluster.repo.dir, (token) => scopedTokens().includes(token));
    server = await cluster.startServer("server", { env: { CI_ADMIN_TOKEN: cluster.adminToken } });
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
    await gitHttp?.stop();
  });

  /** A worker cloning over SSH (its own key) or HTTPS (no key), with an operator's .env beside it that holds CI_REDIS_URL. */
  async function startHuntedWorker(name: string, ssh: boolean) {
    const cwd = cluster.tempDir(`${name}-cwd`);
    writeFileSync(join(cwd, ".env"), `CI_REDIS_URL=${cluster.redis.url}\nDECOY_TOKEN=${dotenvDecoy}\n`, {
      mode: 0o600,
    });
    const worker = await cluster.startWorker(name, { ssh, cwd });
    workers.push(worker);
    return worker;
  }

  /** Opens pull request `number` whose test is the probe; resolves with the test step's log once reported. */
  async function huntOn(w: ClusterWorker, number: number) {
    const { fake, redis, sshd } = cluster;
    const pid = w.child.pid!;
    const targets = {
      "worker-data-dir": w.dataDir,
      "worker-work-dir": w.workDir,
      "worker-dotenv": join(w.cwd, ".env"),
      "worker-environ": `/proc/${pid}/environ`,
      "worker-cmdline": `/proc/${pid}/cmdline`,
      "server-environ": `/proc/${server.child.pid}/environ`,
      "pid1-environ": "/proc/1/environ",
      "ssh-key": sshd.clientKeyPath,
      "redis-dir": redis.dir,
      home: "/root",
    };
    const sha = cluster.repo.commit({ "test_hunt.py": workerHuntProbe(targets, redis.port) }, `hunt ${number}`);
    const res = await cluster.pullRequest(server.url, { number, headSha: sha, cloneUrl: gitHttp.url });
    expect(res.status, res.body).toBeLessThan(300);
    await fake
      .waitFor(() => buildFinished(fake, sha), 60_000)
      .catch((error: Error) => {
        throw new Error(
          `${error.message}\n--- worker ---\n${w.output().slice(-4000)}\n--- server ---\n${server.output().slice(-4000)}`,
        );
      });
    const test = latestStatus(fake.statuses, sha, "ci/test")!.body;
    expect(test.state, JSON.stringify(test)).toBe("success");
    const buildUrl = test.target_url as string;
    const log = await (await fetch(`${buildUrl}/test.log`)).text();
    const places = [
      ["test.log", log],
      ["build page", await (await fetch(buildUrl)).text()],
      ["check run", JSON.stringify(fake.checkRuns.find((r) => r.fields.head_sha === sha)!.fields)],
    ];
    return { log, places, pid };
  }

  /** The secrets no build may find, in clear or base32. */
  const secrets = (extra: string[] = []) => [
    cluster.redis.password,
    cluster.secret,
    cluster.adminToken,
    dotenvDecoy,
    ...keyLines(cluster.privateKey),
    ...cluster.fake.issuedTokens.map((t) => t.token),
    ...extra,
  ];

  function expectNothingFound(log: string, places: string[][], extra: string[] = []) {
    // it ran, and Redis refused it
    expect(log).toContain("ENV=");
    expect(log).toMatch(/^REDIS PING -NOAUTH/m);
    expect(log).toMatch(/^REDIS KEYS -NOAUTH/m);
    expect(log).toMatch(/^REDIS AUTH tried [1-9]\d* accepted 0$/m);
    // its environment is the allow-list
    const env = JSON.parse(/ENV=(\{.*\})$/m.exec(log)![1]!) as Record<string, string>;
    expect(Object.keys(env).filter((name) => !ALLOWED_ENV.test(name))).toEqual([]);
    // none of the worker's .env, environment or the server's
    for (const name of ["worker-dotenv", "worker-environ", "server-environ", "pid1-environ", "ssh-key", "redis-dir"])
      expect(log, name).toMatch(new RegExp(`^DENIED ${name} `, "m"));
    for (const [where, text] of places) expect(secretsIn(text!, secrets(extra)), `secrets in ${where}`).toEqual([]);
  }

  it("finds nothing and cannot use Redis on a worker cloning over HTTPS with a scoped token", async () => {
    const w = await startHuntedWorker("worker-https", false);
    const { log, places } = await huntOn(w, 51);
    // the clone used a token of this repository only, read only — and the build never saw it
    expect(gitHttp.tokensSeen.length).toBeGreaterThan(0);
    expect(gitHttp.tokensSeen.every((t) => scopedTokens().includes(t))).toBe(true);
    const minted = cluster.fake.requests.find((r) => r.method === "POST" && /access_tokens$/.test(r.path) && r.body);
    expect(minted?.body).toMatchObject({ repositories: [REPO], permissions: { contents: "read" } });
    expectNothingFound(log, places);
    await w.stop();
  }, 90_000);

  it("finds nothing and cannot use Redis on a worker cloning over SSH with its own key", async () => {
    const w = await startHuntedWorker("worker-ssh", true);
    const { log, places } = await huntOn(w, 52);
    expectNothingFound(log, places, keyLines(readFileSync(cluster.sshd.clientKeyPath, "utf8")));
    // the worker's logs hold none of it either
    for (const worker of workers) expect(secretsIn(worker.output(), secrets()), "worker log").toEqual([]);
  }, 90_000);
});
