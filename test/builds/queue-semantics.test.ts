import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BuildStore } from "../../src/store/build-store.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { createTestApp, type TestApp } from "../support/test-app.js";

const API = "https://api.github.com";
const OWNER = "octo-org";
const REPO = "calc";
const INSTALLATION = 4343;

interface Sent {
  sha?: string;
  id?: number;
  body: Record<string, any>;
}

/** GitHub for any number of builds: every status and check-run write is kept, with the commit or run it was for. */
function looseGitHub() {
  const statuses: Sent[] = [];
  const checkRuns: Sent[] = [];
  let nextRun = 100;
  nock(API)
    .persist()
    .post(`/app/installations/${INSTALLATION}/access_tokens`)
    .reply(201, () => ({
      token: "ghs_queueTestToken000000000000",
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
      permissions: {},
    }));
  nock(API)
    .persist()
    .post(new RegExp(`^/repos/${OWNER}/${REPO}/statuses/[0-9a-f]{40}$`))
    .reply(201, (uri, body) => {
      statuses.push({ sha: uri.split("/").pop()!, body: body as Record<string, any> });
      return {};
    });
  nock(API)
    .persist()
    .post(`/repos/${OWNER}/${REPO}/check-runs`)
    .reply(201, (_uri, body) => {
      const id = nextRun++;
      checkRuns.push({ id, sha: (body as { head_sha: string }).head_sha, body: body as Record<string, any> });
      return { id };
    });
  nock(API)
    .persist()
    .patch(/^\/repos\/octo-org\/calc\/check-runs\/\d+$/)
    .reply(200, (uri, body) => {
      const id = Number(uri.split("/").pop());
      checkRuns.push({ id, body: body as Record<string, any> });
      return { id };
    });
  nock(API)
    .persist()
    .get(/\/contents\//)
    .reply(404, { message: "Not Found" });
  const of = (sha: string) => ({
    statuses: (context: string) =>
      statuses.filter((s) => s.sha === sha && s.body.context === context).map((s) => s.body),
    runIds: () => checkRuns.filter((r) => r.sha === sha).map((r) => r.id!),
    runWrites: () => {
      const ids = checkRuns.filter((r) => r.sha === sha).map((r) => r.id!);
      return checkRuns.filter((r) => ids.includes(r.id!)).map((r) => r.body);
    },
  });
  return { statuses, checkRuns, of };
}

/** Whether a process is still running (a zombie waiting for its parent is not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(50);
  }
}

let app: TestApp;
let marks: string;
let repo: TestRepo;

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
beforeEach(async () => {
  app = await createTestApp();
  marks = mkdtempSync(join(tmpdir(), "pyci-marks-"));
});
afterEach(() => {
  nock.cleanAll();
  app.remove();
  repo?.remove();
  rmSync(marks, { recursive: true, force: true });
});

const calc = { "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n" };
const quickTest =
  "import unittest\nfrom calc import add\n\nclass AddTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n";

/** A test that starts a grandchild ignoring SIGTERM, writes both pids to `pidFile`, then hangs. */
function hangingTest(pidFile: string): string {
  return [
    "import os, subprocess, sys, time, unittest",
    "",
    "class SlowTest(unittest.TestCase):",
    "    def test_forever(self):",
    "        child = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])",
    `        with open(${JSON.stringify(pidFile)}, 'w') as f:`,
    "            f.write(f'{os.getpid()} {child.pid}')",
    "        time.sleep(600)",
    "",
  ].join("\n");
}

function deliver(id: string, number: number, sha: string, action = "synchronize") {
  const payload = pullRequestPayload({
    action,
    owner: OWNER,
    repo: REPO,
    number,
    headSha: sha,
    sshUrl: repo.dir,
    cloneUrl: repo.dir,
    installationId: INSTALLATION,
  });
  return app.probot.receive({ id, name: "pull_request", payload: payload as any });
}

describe("the build queue", () => {
  it("starts one build per commit, joins repeated deliveries, and supersedes older heads whether waiting or running", async () => {
    const pidFile = join(marks, "pids");
    repo = makeRepo({ ...calc, "test_calc.py": hangingTest(pidFile) });
    const slow = repo.sha;
    const waitingHead = repo.commit({ "test_calc.py": quickTest }, "quick");
    const newestHead = repo.commit({ "README.md": "newest\n" }, "newest");
    const fix = repo.commit({ "NOTES.md": "fix\n" }, "fix");
    const github = looseGitHub();

    // PR 12's head hangs in its tests; the queue has one slot
    await deliver("d-slow", 12, slow, "opened");
    await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").includes(" "), "the hanging test started");
    const [testPid, grandchild] = readFileSync(pidFile, "utf8").split(" ").map(Number) as [number, number];

    // the same delivery again (GitHub's redelivery), and another delivery of the same commit: no second build
    await deliver("d-slow", 12, slow, "opened");
    await deliver("d-slow-again", 12, slow, "reopened");

    // PR 13 waits behind it, then gets a newer head before it ever started
    await deliver("d-waiting", 13, waitingHead);
    await until(() => github.of(waitingHead).statuses("ci/test").length === 1, "pending for the waiting head");
    expect(github.of(waitingHead).statuses("ci/test")[0]).toMatchObject({
      state: "pending",
      description: "Queued (0 ahead)",
    });
    await deliver("d-newest", 13, newestHead);

    // PR 12 gets a new head while its old one runs
    await deliver("d-fix", 12, fix);
    await app.queue.onIdle();
    await until(() => github.of(waitingHead).statuses("ci/test").length >= 2, "the waiting head reported");

    // the running build's whole process tree is gone, grandchild ignoring SIGTERM included
    await until(() => !alive(testPid) && !alive(grandchild), "the superseded build's processes ended", 10_000);

    // each superseded head: statuses error and its check run cancelled, "Superseded by <short sha>"
    for (const [old, by] of [
      [slow, fix],
      [waitingHead, newestHead],
    ] as const) {
      for (const context of ["ci/check", "ci/test"]) {
        expect(github.of(old).statuses(context).at(-1)).toMatchObject({
          state: "error",
          description: `Superseded by ${by.slice(0, 7)}`,
        });
      }
      expect(github.of(old).runIds()).toHaveLength(1);
      expect(github.of(old).runWrites().at(-1)).toMatchObject({
        status: "completed",
        conclusion: "cancelled",
        output: { title: `Superseded by ${by.slice(0, 7)}` },
      });
    }
    // the newer heads built to the end
    for (const head of [newestHead, fix]) {
      expect(
        github
          .of(head)
          .statuses("ci/test")
          .map((s) => s.state),
      ).toEqual(["pending", "success"]);
      expect(github.of(head).runWrites().at(-1)).toMatchObject({ status: "completed", conclusion: "success" });
    }

    // one build per commit; the three deliveries of the slow commit name the same build
    const store = new BuildStore(app.config.dataDir);
    const builds = store.list({ limit: 50 });
    expect(builds.map((b) => [b.sha, b.state]).sort()).toEqual(
      [
        [slow, "error"],
        [waitingHead, "error"],
        [newestHead, "success"],
        [fix, "success"],
      ].sort(),
    );
    expect(builds.find((b) => b.sha === slow)!.error).toBe(`Superseded by ${fix.slice(0, 7)}`);
    expect(
      github
        .of(slow)
        .statuses("ci/test")
        .filter((s) => s.state === "pending"),
    ).toHaveLength(1);
    store.close();
  }, 120_000);
});

describe("a graceful shutdown", () => {
  it("lets a build finish within the grace period", async () => {
    repo = makeRepo({ ...calc, "test_calc.py": quickTest });
    const github = looseGitHub();
    await deliver("d-quick", 5, repo.sha, "opened");
    await app.control.shutdown!(60_000);

    expect(
      github
        .of(repo.sha)
        .statuses("ci/test")
        .map((s) => s.state),
    ).toEqual(["pending", "success"]);
    const store = new BuildStore(app.config.dataDir);
    expect(store.list().map((b) => b.state)).toEqual(["success"]);
    store.close();
  }, 60_000);

  it("stops what is still running after the grace period and leaves it, and what waits, queued for the next start", async () => {
    const pidFile = join(marks, "pids");
    repo = makeRepo({ ...calc, "test_calc.py": hangingTest(pidFile) });
    const hanging = repo.sha;
    const waiting = repo.commit({ "test_calc.py": quickTest }, "quick");
    const github = looseGitHub();
    await deliver("d-hang", 6, hanging, "opened");
    await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").includes(" "), "the hanging test started");
    const pids = readFileSync(pidFile, "utf8").split(" ").map(Number);
    await deliver("d-wait", 7, waiting, "opened");

    await app.control.shutdown!(500);

    // the process tree is gone; nothing final went to GitHub: the next start runs both builds
    await until(() => pids.every((pid) => !alive(pid)), "the stopped build's processes ended", 10_000);
    for (const sha of [hanging, waiting]) {
      expect(
        github
          .of(sha)
          .statuses("ci/test")
          .map((s) => s.state),
      ).toEqual(["pending"]);
    }
    const store = new BuildStore(app.config.dataDir);
    const builds = store.unfinished();
    store.close();
    expect(builds.map((b) => [b.sha, b.state, b.steps.length])).toEqual([
      [hanging, "queued", 0],
      [waiting, "queued", 0],
    ]);
    expect(existsSync(join(app.config.dataDir, "logs", builds[0]!.id))).toBe(false);
    expect(app.queue.running).toBe(0);
  }, 60_000);
});
