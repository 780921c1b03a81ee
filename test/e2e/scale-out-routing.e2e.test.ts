import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { makeRepo } from "../support/git-repo.js";
import { parsePrometheusText, sampleValue } from "../support/prometheus-text.js";
import { redisMissing } from "../support/redis-server.js";
import {
  startScaleOutCluster,
  type ClusterServer,
  type ClusterWorker,
  type ScaleOutCluster,
} from "../support/scale-out-cluster.js";
import { until } from "../support/until.js";

/**
 * Routing by labels (docs/scale-out.md): a repository whose `.github/pyci.yml` asks for
 * `runs_on: [big]` while only an unlabelled `pyci worker` runs waits, and its check run, statuses
 * and page say what for; a worker with CI_WORKER_LABELS=big then connects and builds it. /metrics
 * and the admin's workers view show the queue and both workers. A server without Redis builds the
 * same repository itself and says in the log that runs_on is ignored. A merged pull request's docs,
 * built on a worker, come back in chunks and are published by the server. Real servers, workers,
 * redis-server and sshd, fake GitHub. Needs `npm run build` first.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out routing e2e skipped: ${missing}`);

const OWNER = "acme";
const REPO = "heavy";
const WAITS = "Waits for a worker with labels big: none connected";

const PROJECT = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py":
    "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n",
};

describe.skipIf(missing)("builds routed to workers by label", () => {
  let cluster: ScaleOutCluster;
  let server: ClusterServer;
  const workers = new Map<string, ClusterWorker>();
  const admin = (path: string) =>
    fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${cluster.adminToken}` } });
  const metrics = async () => parsePrometheusText(await (await admin("/metrics")).text());
  const startWorker = async (name: string, labels: string) => {
    const worker = await cluster.startWorker(name, { env: { CI_WORKER_LABELS: labels } });
    workers.set(name, worker);
    return worker;
  };

  beforeAll(async () => {
    cluster = await startScaleOutCluster({
      prefix: "route",
      appId: 4344,
      owner: OWNER,
      repo: REPO,
      installationId: 79,
      files: PROJECT,
    });
    // the server reads the config from the default branch, as GitHub serves it
    cluster.fake.setContent(OWNER, REPO, ".github/pyci.yml", "runs_on: [big]\n");
    server = await cluster.startServer("server", { env: { CI_ADMIN_TOKEN: cluster.adminToken } });
    await startWorker("plain", "");
  }, 60_000);

  afterAll(() => cluster?.stop());

  it("waits, saying so, until a worker with the labels connects; that worker builds it; metrics and the workers view show both", async () => {
    const { fake, repo } = cluster;
    // 1. a pull request of a repository that asks for a big worker, while only an unlabelled one runs
    const sha = repo.commit({ "notes.txt": "needs a big machine\n" }, "a change");
    const res = await cluster.pullRequest(server.url, { number: 41, headSha: sha });
    expect(res.status, res.body).toBeLessThan(300);

    // 2. the check run and the statuses say what it waits for; nothing builds it
    const run = () => fake.checkRuns.find((r) => r.fields.head_sha === sha);
    await fake.waitFor(() => (run()?.fields.output as { title?: string } | undefined)?.title === WAITS, 30_000);
    expect(run()!.fields.status).toBe("queued");
    expect(latestStatus(fake.statuses, sha, "ci/test")!.body).toMatchObject({ state: "pending", description: WAITS });
    const buildUrl = latestStatus(fake.statuses, sha, "ci/test")!.body.target_url as string;
    const waitingPage = await (await fetch(buildUrl)).text();
    expect(waitingPage).toContain(`<p id="waiting" class="problem">${WAITS}</p>`);
    expect(workers.get("plain")!.output()).not.toContain('"msg":"build taken"');

    // 3. /metrics: one build waits in the queue of [big]; one worker, running nothing
    const waiting = await metrics();
    expect(sampleValue(waiting, "pyci_redis_up")).toBe(1);
    expect(sampleValue(waiting, "pyci_worker_queue_waiting", { labels: "big" })).toBe(1);
    expect(sampleValue(waiting, "pyci_worker_queue_waiting", { labels: "" })).toBe(0);
    expect(sampleValue(waiting, "pyci_workers_connected")).toBe(1);
    expect(sampleValue(waiting, "pyci_worker_builds_running", { worker: "plain" })).toBe(0);
    expect(sampleValue(waiting, "pyci_handover_seconds_count")).toBe(0);

    // 4. a worker with the label connects: it builds the commit, and the page names it
    const big = await startWorker("big-one", "big,py312");
    await fake.waitFor(() => run()?.fields.status === "completed", 90_000);
    expect(run()!.fields.conclusion).toBe("success");
    expect(fake.checkRuns.filter((r) => r.fields.head_sha === sha)).toHaveLength(1);
    expect(latestStatus(fake.statuses, sha, "ci/test")!.body.state).toBe("success");
    const page = await (await fetch(buildUrl)).text();
    expect(page).toContain(`Checked out ${sha.slice(0, 7)} on big-one`);
    expect(page).not.toContain('id="waiting"');
    expect(big.output()).toContain('"msg":"build taken"');
    expect(workers.get("plain")!.output()).not.toContain('"msg":"build taken"');

    // 5. the hand-over is measured; the queue is empty
    const after = await metrics();
    expect(sampleValue(after, "pyci_handover_seconds_count")).toBe(1);
    expect(sampleValue(after, "pyci_worker_queue_waiting", { labels: "big" })).toBe(0);
    expect(sampleValue(after, "pyci_workers_connected")).toBe(2);

    // 6. the workers view and API list both, behind the admin token
    expect((await fetch(`${server.url}/api/workers`)).status).toBe(401);
    const listed = (await (await admin("/api/workers")).json()) as {
      workers: { name: string; labels: string[]; concurrency: number; running: string[]; lastSeen: string }[];
    };
    expect(listed.workers.map((w) => [w.name, w.labels, w.concurrency])).toEqual([
      ["big-one", ["big", "py312"], 1],
      ["plain", [], 1],
    ]);
    const view = await until("the workers view lists both", 10_000, async () => {
      const html = await (await admin("/workers")).text();
      return html.includes("big-one") && html.includes("plain") ? html : undefined;
    });
    expect(view).toContain("<code>big</code> <code>py312</code>");

    // 7. nothing secret in what either side logs
    for (const [where, text] of [["server", server.output()], ...[...workers].map(([name, w]) => [name, w.output()])]) {
      expect(text!.includes(cluster.redis.password), `Redis password in the ${where}'s log`).toBe(false);
      expect(text!.includes(cluster.adminToken), `admin token in the ${where}'s log`).toBe(false);
    }
  }, 150_000);

  it("builds runs_on's repository itself on a server without workers, saying in the log that runs_on is ignored", async () => {
    const { fake, repo } = cluster;
    // a server of one machine: no Redis, it clones with the SSH key itself
    const single = await cluster.startServer("single", { redis: false });
    try {
      const sha = repo.commit({ "notes.txt": "one machine\n" }, "another change");
      const res = await cluster.pullRequest(single.url, { number: 42, headSha: sha });
      expect(res.status, res.body).toBeLessThan(300);
      const run = () => fake.checkRuns.find((r) => r.fields.head_sha === sha);
      await fake.waitFor(() => run()?.fields.status === "completed", 90_000);
      expect(run()!.fields.conclusion).toBe("success");
      expect(fake.checkRuns.filter((r) => r.fields.head_sha === sha).flatMap((r) => r.history)).not.toContainEqual(
        expect.objectContaining({ output: expect.objectContaining({ title: WAITS }) }),
      );
      const buildUrl = latestStatus(fake.statuses, sha, "ci/test")!.body.target_url as string;
      const page = await (await fetch(buildUrl)).text();
      expect(page).toContain("runs_on (big) is ignored: this server has no workers (CI_REDIS_URL is not set)");
    } finally {
      await single.stop();
    }
  }, 120_000);

  it("builds a merged pull request's docs on a worker; the server publishes the archive the worker sent as a release asset", async () => {
    const { fake } = cluster;
    const docsRepo = makeRepo({
      ...PROJECT,
      "docs/conf.py": "project = 'widgets'\n",
      "docs/index.rst": "Widgets\n=======\n\n.. toctree::\n\n   usage\n",
      "docs/usage.rst": "Usage\n=====\n\nCall ``add``.\n",
    });
    try {
      const tag = `docs-${docsRepo.sha.slice(0, 7)}`;
      const res = await cluster.pullRequest(server.url, {
        action: "closed",
        merged: true,
        mergeCommitSha: docsRepo.sha,
        repo: "widgets",
        number: 7,
        headSha: "2".repeat(40),
        sshUrl: cluster.sshd.sshUrl(docsRepo.dir),
        title: "Document add()",
      });
      expect(res.status, res.body).toBeLessThan(300);
      const docs = () => latestStatus(fake.statuses, docsRepo.sha, "ci/docs")?.body;
      await fake.waitFor(() => !!docs() && docs()!.state !== "pending", 90_000);
      expect(docs()).toMatchObject({
        state: "success",
        description: `Docs built: 2 pages, no warnings; published as release ${tag}`,
      });
      // the asset is the worker's archive, whole: a gzip'd tar with the pages at its top
      const archive = fake.asset(OWNER, "widgets", tag, "docs-html.tar.gz");
      expect(archive).toBeDefined();
      const unpack = cluster.tempDir("asset");
      writeFileSync(join(unpack, "docs.tar.gz"), archive!);
      const listing = execFileSync("tar", ["-tzf", join(unpack, "docs.tar.gz")], { encoding: "utf8" }).split("\n");
      expect(listing).toEqual(expect.arrayContaining(["index.html", "usage.html"]));
      // a worker built it, not the server (which has no SSH key to clone with)
      const page = await (await fetch(docs()!.target_url as string)).text();
      expect(page).toMatch(new RegExp(`Checked out ${docsRepo.sha.slice(0, 7)} on (plain|big-one)`));
    } finally {
      docsRepo.remove();
    }
  }, 120_000);
});
