import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BuildStore } from "../../src/store/build-store.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { freePort, sleep, spawnServer, waitUntilServing, type ServerProcess } from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

/**
 * A bounded load test of the real server (`node dist/server.js`; `npm run build` first): 500 signed
 * deliveries from 50 concurrent clients on loopback, for 5 commits of a cheap repository, each on a pull
 * request of its own installation (GitHub writes are paced per installation). Per commit: fresh deliveries
 * (distinct ids: they join the commit's build while it is queued or running) and exact redeliveries (same
 * id: no new build). Every delivery must be acknowledged 2xx; each commit built exactly once, nothing left
 * pending; the server's memory bounded. It prints its figures.
 */

const APP_ID = 6060;
const COMMITS = 5;
const FRESH_PER_COMMIT = 80;
const REDELIVERIES_PER_COMMIT = 20;
const CLIENTS = 50;
const MiB = 1024 * 1024;
const RSS_BOUND = 400 * MiB;

function rss(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return Number(/(\d+)/.exec(line ?? "")?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Delivery {
  id: string;
  sha: string;
  body: string;
}

describe("load: 500 signed deliveries from 50 clients", () => {
  const privateKey = generateAppKey();
  const secret = `pyci-load-${randomBytes(12).toString("base64url")}`;
  let fake: FakeGitHub;
  let sshd: TestSshd;
  let repo: TestRepo;
  let server: ServerProcess;
  let root: string;
  let dataDir: string;
  let port: number;

  beforeAll(async () => {
    [fake, sshd] = await Promise.all([startFakeGitHub({ appId: APP_ID, privateKey }), startSshd()]);
    repo = makeRepo({
      "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
      "test_calc.py":
        "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n",
    });
    root = mkdtempSync(join(tmpdir(), "pyci-load-"));
    dataDir = join(root, "data");
    port = await freePort();
    server = spawnServer(
      {
        NODE_ENV: "production",
        APP_ID: String(APP_ID),
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: secret,
        PORT: String(port),
        HOST: "127.0.0.1",
        GHE_HOST: fake.host,
        GHE_PROTOCOL: "http",
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: dataDir,
        CI_WORK_DIR: mkdtempSync(join(root, "work-")),
        CI_SSH_KEY_PATH: sshd.clientKeyPath,
        CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath,
        CI_CONCURRENCY: "2",
        LOG_LEVEL: "warn",
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      },
      mkdtempSync(join(root, "cwd-")),
    );
    expect((await waitUntilServing(server, "/ping")).status).toBe(200);
  }, 30_000);

  afterAll(async () => {
    await Promise.allSettled([server?.stop(), sshd?.stop(), fake?.stop()]);
    repo?.remove();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it("acknowledges every delivery with 2xx and builds each commit exactly once, in bounded memory", async () => {
    // 1. COMMITS commits, each the head of a pull request of its own installation
    const shas: string[] = [];
    for (let i = 0; i < COMMITS; i++) shas.push(repo.commit({ [`note_${i}.txt`]: `commit ${i}\n` }, `commit ${i}`));
    // as GitHub does: any commit reachable from a ref can be fetched by its SHA
    repo.git("config", "uploadpack.allowReachableSHA1InWant", "true");
    const deliveries: Delivery[] = [];
    shas.forEach((sha, i) => {
      const body = JSON.stringify(
        pullRequestPayload({
          action: "synchronize",
          owner: "acme",
          repo: "widgets",
          number: 100 + i,
          headSha: sha,
          sshUrl: sshd.sshUrl(repo.dir),
          cloneUrl: "http://127.0.0.1:9/acme/widgets.git",
          installationId: 5000 + i,
        }),
      );
      const fresh = Array.from({ length: FRESH_PER_COMMIT }, () => ({ id: randomUUID(), sha, body }));
      const again = Array.from({ length: REDELIVERIES_PER_COMMIT }, (_, k) => ({ ...fresh[k % fresh.length]! }));
      deliveries.push(...fresh, ...again);
    });
    // a fixed shuffle: every commit's deliveries spread over the whole run
    let seed = 42;
    for (let i = deliveries.length - 1; i > 0; i--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const j = seed % (i + 1);
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    expect(deliveries).toHaveLength(500);

    // 2. memory, sampled throughout
    const pid = server.child.pid!;
    const rssBefore = rss(pid);
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, rss(pid))), 100);

    // 3. 50 clients, each on its own keep-alive connection
    const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
    const acks: number[] = [];
    const statuses = new Map<number, number>();
    const post = (d: Delivery) =>
      new Promise<{ status: number; ms: number }>((resolve, reject) => {
        const started = performance.now();
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port,
            path: "/api/github/webhooks",
            method: "POST",
            agent,
            headers: {
              "content-type": "application/json",
              "content-length": Buffer.byteLength(d.body),
              "user-agent": "GitHub-Hookshot/load",
              "x-github-event": "pull_request",
              "x-github-delivery": d.id,
              "x-hub-signature-256": `sha256=${createHmac("sha256", secret).update(d.body).digest("hex")}`,
            },
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
          },
        );
        req.on("error", reject);
        req.end(d.body);
      });
    const startedAt = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (next < deliveries.length) {
          const d = deliveries[next++]!;
          const { status, ms } = await post(d);
          acks.push(ms);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
        }
      }),
    );
    const sentMs = Date.now() - startedAt;
    agent.destroy();

    // 4. every build finishes
    const builds = () => {
      if (!existsSync(join(dataDir, "pyci.db"))) return [];
      const store = new BuildStore(dataDir);
      try {
        return store.list({ limit: 500 });
      } finally {
        store.close();
      }
    };
    const deadline = Date.now() + 120_000;
    while (
      Date.now() < deadline &&
      (builds().length < COMMITS || builds().some((b) => b.state === "queued" || b.state === "running"))
    )
      await sleep(250);
    await fake.waitFor(
      () =>
        shas.every((sha) => fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed")),
      30_000,
    );
    const doneMs = Date.now() - startedAt;
    clearInterval(sampler);
    peak = Math.max(peak, rss(pid));

    const sorted = [...acks].sort((a, b) => a - b);
    const all = builds();
    console.info(
      [
        `load: ${deliveries.length} deliveries from ${CLIENTS} clients in ${sentMs} ms; answers ${JSON.stringify(Object.fromEntries(statuses))}`,
        `acks p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)!.toFixed(1)} ms`,
        `builds ${all.length} for ${COMMITS} commits (${all.map((b) => b.state).join(" ")}), all finished after ${doneMs} ms`,
        `server RSS ${(rssBefore / MiB).toFixed(1)} MiB before, peak ${(peak / MiB).toFixed(1)} MiB`,
      ].join("\n"),
    );

    // every delivery acknowledged
    expect(
      [...statuses.keys()].every((s) => s >= 200 && s < 300),
      JSON.stringify(Object.fromEntries(statuses)),
    ).toBe(true);
    expect(acks).toHaveLength(deliveries.length);
    // exactly one build per commit, none lost, none doubled, none left behind
    for (const sha of shas) {
      const mine = all.filter((b) => b.sha === sha);
      const why = mine.map((b) => b.steps.map((s) => `${s.name} ${s.state}: ${s.summary}`).join("; ")).join(" | ");
      expect(
        mine.map((b) => b.state),
        `${sha}: ${why}`,
      ).toEqual(["success"]);
      expect(
        fake.checkRuns.filter((r) => r.fields.head_sha === sha),
        sha,
      ).toHaveLength(1);
      for (const context of ["ci/check", "ci/test"]) {
        const states = fake.statuses
          .filter((s) => s.sha === sha && s.body.context === context)
          .map((s) => s.body.state);
        expect(states.at(-1), `${sha} ${context}`).toBe("success");
        expect(
          states.filter((s) => s !== "pending"),
          `${sha} ${context}`,
        ).toHaveLength(1);
      }
    }
    expect(all).toHaveLength(COMMITS);
    expect(fake.violations).toEqual([]);
    // memory bounded
    expect(peak).toBeLessThan(RSS_BOUND);
    expect(server.alive()).toBe(true);
  }, 180_000);
});
