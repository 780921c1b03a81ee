import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { redisMissing, startRedis, type TestRedis } from "../support/redis-server.js";
import {
  eventually,
  freePort,
  productionEnv,
  spawnServer,
  spawnWorker,
  waitUntilServing,
  type ServerProcess,
} from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { sendWebhook } from "../support/webhook.js";
import { finalReports, normalised, PARITY_VARIANTS } from "../support/parity-reports.js";

/**
 * Issue 17's parity test: the same 20 pull requests (passing, failing and erroring tests, a
 * pyright error) through the real server handing builds to two real `pyci worker` processes
 * over a real redis-server, and through a single-process server (no Redis), each reporting to a
 * fake GitHub of its own. Each commit is reported once by each, the builds spread over both
 * workers, and every report (statuses, the check run's conclusion, summary and annotations) is
 * the same in content — apart from the worker's name, URLs, ids and times. Needs `npm run build`.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out parity e2e skipped: ${missing}`);

const APP_ID = 4545;
const OWNER = "acme";
const REPO = "parity";
const PULL_REQUESTS = 20;
const WORKERS = ["worker-a", "worker-b"];

describe.skipIf(missing)("the same reports with workers as from one process", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-e2e-${randomBytes(18).toString("base64url")}`;
  let redis: TestRedis;
  let fakeWorkers: FakeGitHub;
  let fakeSingle: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  const processes: ServerProcess[] = [];
  const workers: ServerProcess[] = [];
  const dirs: string[] = [];
  let urls: { workers: string; single: string };
  const tempDir = (name: string) => {
    const dir = mkdtempSync(join(tmpdir(), `pyci-parity-${name}-`));
    dirs.push(dir);
    return dir;
  };
  const serverEnv = async (fake: FakeGitHub, name: string) => {
    const port = await freePort();
    return {
      ...productionEnv(),
      APP_ID: String(APP_ID),
      PRIVATE_KEY: privateKey,
      WEBHOOK_SECRET: secret,
      PORT: String(port),
      GHE_HOST: fake.host,
      CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
      CI_DATA_DIR: tempDir(`${name}-data`),
      CI_WORK_DIR: tempDir(`${name}-work`),
    };
  };

  beforeAll(async () => {
    [redis, fakeWorkers, fakeSingle, sshd] = await Promise.all([
      startRedis(),
      startFakeGitHub({ appId: APP_ID, privateKey }),
      startFakeGitHub({ appId: APP_ID, privateKey }),
      startSshd(),
    ]);
    repo = makeRepo(PARITY_VARIANTS[0]!.files);
    // the server that hands builds to the workers: no SSH key, it clones nothing
    const handing = await serverEnv(fakeWorkers, "server");
    // the server of one machine: builds in-process, two at a time as the two workers do
    const single = {
      ...(await serverEnv(fakeSingle, "single")),
      CI_CONCURRENCY: "2",
      CI_SSH_KEY_PATH: sshd.clientKeyPath,
      CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
    };
    urls = { workers: handing.CI_PUBLIC_URL, single: single.CI_PUBLIC_URL };
    processes.push(spawnServer({ ...handing, CI_REDIS_URL: redis.url }, tempDir("server-cwd")));
    processes.push(spawnServer(single, tempDir("single-cwd")));
    for (const name of WORKERS)
      workers.push(
        spawnWorker(
          {
            ...productionEnv(),
            CI_REDIS_URL: redis.url,
            CI_WORKER_NAME: name,
            CI_CONCURRENCY: "1",
            CI_DATA_DIR: tempDir(`${name}-data`),
            CI_WORK_DIR: tempDir(`${name}-work`),
            CI_SSH_KEY_PATH: sshd.clientKeyPath,
            CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
          },
          tempDir(`${name}-cwd`),
        ),
      );
    for (const server of processes) await waitUntilServing(server, "/ping");
    for (const worker of workers)
      await eventually(() => worker.output().includes("pyci worker ready") || !worker.alive(), 20_000, "worker ready");
    for (const worker of workers) expect(worker.alive(), worker.output()).toBe(true);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([...processes, ...workers].map((p) => p.stop()));
    await Promise.allSettled([redis?.stop(), sshd?.stop(), fakeWorkers?.stop(), fakeSingle?.stop()]);
    repo?.remove();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it("reports each of 20 commits once, built on both workers, as the single process reports it", async () => {
    // 1. 20 commits, each a variant of the project with a file of its own (every tree new), delivered to both
    const commits = Array.from({ length: PULL_REQUESTS }, (_, i) => {
      const variant = PARITY_VARIANTS[i % PARITY_VARIANTS.length]!;
      const number = 100 + i;
      const sha = repo.commit({ ...variant.files, "NOTES.txt": `pull request ${number}\n` }, variant.name);
      return { number, sha, variant: variant.name };
    });
    for (const { number, sha } of commits) {
      const payload = pullRequestPayload({
        action: "opened",
        owner: OWNER,
        repo: REPO,
        number,
        headSha: sha,
        sshUrl: sshd.sshUrl(repo.dir),
        cloneUrl: "http://127.0.0.1:9/acme/parity.git",
        // an installation each: pyci paces its writes per installation, about one a second, as GitHub asks
        installationId: 500 + number,
      });
      for (const url of [urls.workers, urls.single]) {
        const res = await sendWebhook({ url: `${url}/api/github/webhooks`, secret, event: "pull_request", payload });
        expect(res.status, res.body).toBeLessThan(300);
      }
    }

    // 2. every commit final on both sides
    const shas = commits.map((c) => c.sha);
    await Promise.all(
      [fakeWorkers, fakeSingle].map((fake) =>
        fake.waitFor(() => shas.every((sha) => finalReports(fake, sha) !== undefined), 80_000),
      ),
    );

    // 3. once each, the same in content
    for (const { sha, variant } of commits) {
      const viaWorkers = finalReports(fakeWorkers, sha)!;
      const single = finalReports(fakeSingle, sha)!;
      for (const reports of [viaWorkers, single]) {
        expect(reports.checkRuns, `${variant}: one check run`).toBe(1);
        expect(reports.finalStatusesPerContext, `${variant}: each status context final once`).toEqual([1, 1]);
      }
      expect(normalised(viaWorkers.content, sha), variant).toEqual(normalised(single.content, sha));
    }
    // the variants really differ: a pass, a test failure, an error in a test, a pyright error
    const outcomes = new Set(commits.map(({ sha }) => JSON.stringify(finalReports(fakeSingle, sha)!.content.statuses)));
    expect(outcomes.size).toBe(PARITY_VARIANTS.length);

    // 4. spread over both workers, each build taken once
    const taken = workers.map(
      (w) =>
        w
          .output()
          .split("\n")
          .filter((l) => l.includes('"msg":"build taken"')).length,
    );
    expect(
      taken.every((n) => n > 0),
      JSON.stringify(taken),
    ).toBe(true);
    expect(taken.reduce((a, b) => a + b, 0)).toBe(PULL_REQUESTS);
    expect(fakeWorkers.violations).toEqual([]);
    expect(fakeSingle.violations).toEqual([]);
  }, 100_000);
});
