import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeGitHub } from "../support/fake-github.js";
import { finalReports, normalised, PARITY_VARIANTS } from "../support/parity-reports.js";
import { redisMissing } from "../support/redis-server.js";
import {
  startScaleOutCluster,
  type ClusterServer,
  type ClusterWorker,
  type ScaleOutCluster,
} from "../support/scale-out-cluster.js";
import { buildsTaken } from "../support/worker-process.js";

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

const PULL_REQUESTS = 20;
const WORKERS = ["worker-a", "worker-b"];

describe.skipIf(missing)("the same reports with workers as from one process", () => {
  let cluster: ScaleOutCluster;
  let fakeWorkers: FakeGitHub;
  let fakeSingle: FakeGitHub;
  let servers: { workers: ClusterServer; single: ClusterServer };
  let workers: ClusterWorker[];

  beforeAll(async () => {
    cluster = await startScaleOutCluster({
      prefix: "parity",
      appId: 4545,
      owner: "acme",
      repo: "parity",
      files: PARITY_VARIANTS[0]!.files,
    });
    fakeWorkers = cluster.fake;
    fakeSingle = await cluster.addFakeGitHub();
    servers = {
      // the server that hands builds to the workers: no SSH key, it clones nothing
      workers: await cluster.startServer("server"),
      // the server of one machine: builds in-process, two at a time as the two workers do
      single: await cluster.startServer("single", { redis: false, fake: fakeSingle, env: { CI_CONCURRENCY: "2" } }),
    };
    workers = await Promise.all(WORKERS.map((name) => cluster.startWorker(name)));
  }, 60_000);

  afterAll(() => cluster?.stop());

  it("reports each of 20 commits once, built on both workers, as the single process reports it", async () => {
    // 1. 20 commits, each a variant of the project with a file of its own (every tree new), delivered to both
    const { repo } = cluster;
    const commits = Array.from({ length: PULL_REQUESTS }, (_, i) => {
      const variant = PARITY_VARIANTS[i % PARITY_VARIANTS.length]!;
      const number = 100 + i;
      const sha = repo.commit({ ...variant.files, "NOTES.txt": `pull request ${number}\n` }, variant.name);
      return { number, sha, variant: variant.name };
    });
    for (const { number, sha } of commits) {
      for (const server of [servers.workers, servers.single]) {
        // an installation each: pyci paces its writes per installation, about one a second, as GitHub asks
        const res = await cluster.pullRequest(server.url, { number, headSha: sha, installationId: 500 + number });
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
    const taken = workers.map((w) => buildsTaken(w.output()));
    expect(
      taken.every((n) => n > 0),
      JSON.stringify(taken),
    ).toBe(true);
    expect(taken.reduce((a, b) => a + b, 0)).toBe(PULL_REQUESTS);
    expect(fakeWorkers.violations).toEqual([]);
    expect(fakeSingle.violations).toEqual([]);
  }, 100_000);
});
