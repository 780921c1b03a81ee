import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildCgroupLayout } from "../../src/process/limits/build-cgroup.js";
import { latestStatus } from "../support/fake-github.js";
import { SANDBOX_MODES } from "../support/hostile-build.js";
import { startSandboxedServer, type SandboxedServer } from "../support/sandboxed-server.js";

/**
 * A pull request whose tests hog memory or fork without end, at the real
 * server (`node dist/server.js`, `npm run build` first) configured with small
 * CI_BUILD_MEMORY and CI_BUILD_PROCESSES: the kernel stops the build in its
 * cgroup, ci/test says which limit it hit, and the server goes on. Each hog is
 * bounded without the limit too (512 MiB, 500 sleeping processes), so a limit
 * that does not hold fails the test, not the machine. Runs where the host
 * gives pyci a cgroup (this one: v1 memory and pids).
 */
const APP_ID = 4848;
const INSTALLATION_ID = 83;
const MODE = SANDBOX_MODES.find((m) => m.runs);
const CGROUP = (await buildCgroupLayout()).kind !== "none";

const unittest = (body: string) => `import os, time, unittest


class Hostile(unittest.TestCase):
    def test_it(self):
${body
  .split("\n")
  .map((line) => `        ${line}`)
  .join("\n")}
`;

describe.skipIf(!MODE || !CGROUP)(`a build's limits at the server, CI_SANDBOX=${MODE?.mode}`, () => {
  let pyci: SandboxedServer;

  /** Builds a pull request holding `test`; resolves with its final ci/test status. */
  const build = async (name: string, test: string) => {
    const sha = await pyci.openPullRequest(name, { "test_hostile.py": test });
    const final = () => latestStatus(pyci.fake.statuses, sha, "ci/test");
    await pyci.fake.waitFor(() => ["success", "failure", "error"].includes(String(final()?.body.state)), 90_000);
    return final()!.body;
  };

  beforeAll(async () => {
    pyci = await startSandboxedServer(MODE!, {
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      env: { CI_CONCURRENCY: "1", CI_STEP_TIMEOUT: "60", CI_BUILD_MEMORY: "256", CI_BUILD_PROCESSES: "64" },
    });
  }, 60_000);

  afterAll(async () => {
    await pyci?.stop();
  });

  it("says at start-up what holds builds to their limits", () => {
    expect(pyci.server.output()).toMatch(/each build gets a cgroup of its own/);
  });

  it("a memory hog ends the build in error: it used more than its memory", async () => {
    const test = await build(
      "hog",
      unittest("hog = []\nfor _ in range(64):\n    hog.append(bytearray(8 * 1024 * 1024))"),
    );
    expect(test, JSON.stringify(test)).toMatchObject({
      state: "error",
      description: "The build used more than 256 MiB of memory (CI_BUILD_MEMORY)",
    });
  }, 120_000);

  it("a fork bomb ends the build in error: it started more than its processes", async () => {
    const bomb = "for _ in range(500):\n    if os.fork() == 0:\n        time.sleep(5)\n        os._exit(0)";
    const test = await build("bomb", unittest(bomb));
    expect(test, JSON.stringify(test)).toMatchObject({
      state: "error",
      description: expect.stringMatching(/^The build started more than 64 processes/),
    });
  }, 120_000);

  it("builds an ordinary pull request as usual afterwards", async () => {
    const test = await build("ordinary", unittest("self.assertEqual(1 + 1, 2)"));
    expect(test).toMatchObject({ state: "success", description: "1 test passed" });
  }, 120_000);
});
