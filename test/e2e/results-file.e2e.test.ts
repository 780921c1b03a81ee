import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeGitHub, latestStatus } from "../support/fake-github.js";
import { keyLines, SANDBOX_MODES } from "../support/hostile-build.js";
import { startSandboxedServer, type SandboxedServer } from "../support/sandboxed-server.js";
import { sleep, type ServerProcess } from "../support/server-process.js";

/**
 * The unittest runner's results file lies in a directory the code under
 * test can write: what it leaves there is not the server's to follow
 * (issue 13, finding 5). A suite whose code, as the runner exits, swaps the
 * results file for a symlink (to a root-only file, to /proc/self/environ)
 * or a FIFO must end its test step in `error`, within CI_STEP_TIMEOUT,
 * reading nothing through the link, and the server must stay responsive
 * and build the next pull request. The real server (`node dist/server.js`,
 * `npm run build` first), in the first sandbox mode this machine runs.
 */

const APP_ID = 4747;
const INSTALLATION_ID = 82;
const STEP_TIMEOUT_S = 60;
const MODE = SANDBOX_MODES.find((m) => m.runs);

/** A passing suite whose module, at the runner's exit (atexit: after it wrote the results), replaces the results file by `swap` (Python, given `path`). */
function swappingSuite(swap: string): string {
  return `import atexit, os, sys, unittest


def results_path():
    if "--results" in sys.argv:
        return sys.argv[sys.argv.index("--results") + 1]
    return os.path.join(os.path.dirname(os.environ["TMPDIR"].rstrip("/")), "unittest-results.json")


def swap():
    path = results_path()
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    ${swap}
    print("SWAPPED", path, flush=True)


atexit.register(swap)


class Innocent(unittest.TestCase):
    def test_true(self):
        self.assertTrue(True)
`;
}

const FINAL = ["success", "failure", "error"];

describe.skipIf(!MODE)(`a results file that is not a regular file, CI_SANDBOX=${MODE?.mode}`, () => {
  // first in the server's environment: what a read of its /proc/self/environ starts with
  const canaryName = `X${randomBytes(8).toString("hex")}`;
  const canaryValue = randomBytes(18).toString("hex");
  let pyci: SandboxedServer;
  let fake: FakeGitHub;
  let server: ServerProcess;
  let decoyDir: string;
  const testFinal = (sha: string) => FINAL.includes(String(latestStatus(fake.statuses, sha, "ci/test")?.body.state));
  const finished = async (sha: string, timeoutMs: number) => {
    await fake.waitFor(
      () => testFinal(sha) && fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed"),
      timeoutMs,
    );
    return {
      test: latestStatus(fake.statuses, sha, "ci/test")!.body,
      run: fake.checkRuns.find((r) => r.fields.head_sha === sha)!,
    };
  };
  /** What pyci told GitHub about a commit: its statuses and check run. */
  const reported = (sha: string) =>
    JSON.stringify([
      fake.statuses.filter((s) => s.sha === sha),
      fake.checkRuns.filter((r) => r.fields.head_sha === sha),
    ]);
  const ping = async (): Promise<number> => {
    const started = Date.now();
    const res = await fetch(`${server.url}/ping`, { signal: AbortSignal.timeout(2000) });
    expect(res.status).toBe(200);
    return Date.now() - started;
  };

  beforeAll(async () => {
    if (!MODE) return;
    pyci = await startSandboxedServer(MODE, {
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      first: { [canaryName]: canaryValue },
      // one build at a time: a build that never ends would keep every later one queued
      env: { CI_CONCURRENCY: "1", CI_STEP_TIMEOUT: String(STEP_TIMEOUT_S), CI_SHUTDOWN_GRACE: "1" },
    });
    ({ fake, server } = pyci);
    decoyDir = mkdtempSync(join(tmpdir(), "pyci-results-decoy-"));
    // the environment of the server process starts with the canary
    expect(readFileSync(`/proc/${server.child.pid}/environ`, "latin1").startsWith(`${canaryName}=`)).toBe(true);
  }, 60_000);

  afterAll(async () => {
    if (!MODE) return;
    await pyci?.stop();
    if (decoyDir) rmSync(decoyDir, { recursive: true, force: true });
  });

  it("a symlink to a root-only file: error, and nothing of the file reported", async () => {
    const token = `decoy${randomBytes(12).toString("hex")}`;
    const decoy = join(decoyDir, "results.json");
    // what the server would take for results, if it read the file: a failing test named and described by the token
    const forged = {
      tests: [
        {
          id: `test_${token}.Decoy.test_${token}`,
          outcome: "fail",
          duration_ms: 1,
          message: `AssertionError: ${token}`,
        },
      ],
      load_errors: 0,
    };
    writeFileSync(decoy, JSON.stringify(forged), { mode: 0o600 });
    const sha = await pyci.openPullRequest("results-decoy", {
      "test_innocent.py": swappingSuite(`os.symlink(${JSON.stringify(decoy)}, path)`),
    });
    const { test } = await finished(sha, 90_000);
    const log = await (await fetch(`${test.target_url}/test.log`)).text();
    expect(log, "the suite swapped the results file").toContain("SWAPPED");
    expect.soft(reported(sha), "the decoy's content reported to GitHub").not.toContain(token);
    expect(test.state, JSON.stringify(test)).toBe("error");
  }, 120_000);

  it("a symlink to /proc/self/environ: error, and nothing of the server's environment reported", async () => {
    const sha = await pyci.openPullRequest("results-environ", {
      "test_innocent.py": swappingSuite('os.symlink("/proc/self/environ", path)'),
    });
    const { test } = await finished(sha, 90_000);
    const log = await (await fetch(`${test.target_url}/test.log`)).text();
    expect(log, "the suite swapped the results file").toContain("SWAPPED");
    const text = reported(sha);
    const leaked = [canaryName.slice(0, 10), canaryValue, pyci.webhookSecret, ...keyLines(pyci.privateKey)].filter(
      (s) => text.includes(s),
    );
    expect.soft(leaked, "the server's environment reported to GitHub").toEqual([]);
    expect(test.state, JSON.stringify(test)).toBe("error");
  }, 120_000);

  it("a FIFO: error within CI_STEP_TIMEOUT, and the server answers meanwhile", async () => {
    const sent = Date.now();
    const sha = await pyci.openPullRequest("results-fifo", { "test_innocent.py": swappingSuite("os.mkfifo(path)") });
    const pings: number[] = [];
    while (!testFinal(sha) && Date.now() - sent < STEP_TIMEOUT_S * 1000) {
      pings.push(await ping());
      await sleep(500);
    }
    const elapsed = Date.now() - sent;
    expect(Math.max(...pings), "the slowest /ping while the build ran (ms)").toBeLessThan(2000);
    expect(
      testFinal(sha),
      `ci/test final within CI_STEP_TIMEOUT (${STEP_TIMEOUT_S} s): ${JSON.stringify(latestStatus(fake.statuses, sha, "ci/test")?.body)}`,
    ).toBe(true);
    expect(elapsed).toBeLessThan(STEP_TIMEOUT_S * 1000);
    const { test } = await finished(sha, 10_000);
    expect(test.state, JSON.stringify(test)).toBe("error");
    expect(await ping()).toBeLessThan(2000);
  }, 120_000);

  it("builds the next pull request as usual", async () => {
    const sha = await pyci.openPullRequest("results-normal", {
      "calc.py": "def add(a, b):\n    return a + b\n",
      "test_calc.py":
        "import unittest\n\nfrom calc import add\n\n\nclass AddTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(2, 3), 5)\n",
    });
    const { test, run } = await finished(sha, 60_000);
    expect(test).toMatchObject({ state: "success", description: "1 test passed" });
    expect(run.fields.conclusion).toBe("success");
    expect(await ping()).toBeLessThan(2000);
    expect(server.alive()).toBe(true);
  }, 90_000);
});
