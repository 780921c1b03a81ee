import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { redisMissing } from "../support/redis-server.js";
import { startScaleOutCluster, type ClusterServer, type ScaleOutCluster } from "../support/scale-out-cluster.js";

/**
 * CI_SERVER_BUILDS=true (docs/scale-out.md): a server with Redis and no `pyci worker` at all
 * builds the pull request itself, as a worker of its own named `<hostname>-server`, through the
 * same queue and stream; the workers view lists it. Real server, redis-server and sshd, fake
 * GitHub. Needs `npm run build` first.
 */

const missing = redisMissing();
if (missing) console.warn(`scale-out server-builds e2e skipped: ${missing}`);

describe.skipIf(missing)("a server that builds too (CI_SERVER_BUILDS)", () => {
  let cluster: ScaleOutCluster;
  let server: ClusterServer;

  beforeAll(async () => {
    cluster = await startScaleOutCluster({
      prefix: "own",
      appId: 4345,
      owner: "acme",
      repo: "solo",
      installationId: 80,
      files: {
        "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
        "test_calc.py":
          "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_adds(self):\n        self.assertEqual(add(2, 3), 5)\n",
      },
    });
    // Redis, and the SSH key to clone with: it builds itself
    server = await cluster.startServer("server", {
      ssh: true,
      env: { CI_ADMIN_TOKEN: cluster.adminToken, CI_SERVER_BUILDS: "true" },
    });
  }, 60_000);

  afterAll(() => cluster?.stop());

  it("builds a pull request with no worker connected, as its own worker, and lists itself as one", async () => {
    const { fake } = cluster;
    const sha = cluster.repo.sha;
    const res = await cluster.pullRequest(server.url, { number: 5, headSha: sha });
    expect(res.status, res.body).toBeLessThan(300);
    const run = () => fake.checkRuns.find((r) => r.fields.head_sha === sha);
    await fake.waitFor(() => run()?.fields.status === "completed", 90_000);
    expect(run()!.fields.conclusion).toBe("success");
    expect(latestStatus(fake.statuses, sha, "ci/test")!.body.state).toBe("success");
    const own = `${hostname()}-server`;
    const page = await (await fetch(latestStatus(fake.statuses, sha, "ci/test")!.body.target_url as string)).text();
    expect(page).toContain(`Checked out ${sha.slice(0, 7)} on ${own}`);
    const listed = (await (
      await fetch(`${server.url}/api/workers`, { headers: { authorization: `Bearer ${cluster.adminToken}` } })
    ).json()) as { workers: { name: string }[] };
    expect(listed.workers.map((w) => w.name)).toEqual([own]);
  }, 120_000);
});
