import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import type { Probot } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BuildQueue } from "../../src/builds/build-queue.js";
import { BuildStore } from "../../src/store/build-store.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { createTestApp, type TestApp } from "../support/test-app.js";

const API = "https://api.github.com";
const OWNER = "octo-org";
const REPO = "calc";
const INSTALLATION = 4242;
const TOKEN = "ghs_handlerTestToken0123456789";

const PASSING = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py":
    "import unittest\nfrom calc import add\n\nclass AddTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n\n    def test_zero(self):\n        self.assertEqual(add(0, 0), 0)\n",
};

const FAILING = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a - b\n\nbroken = (\n",
  "test_calc.py":
    "import unittest\nfrom calc import add\n\nclass AddTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
};

let app: TestApp;
let probot: Probot;
let queue: BuildQueue;
let dataDir: string;
let workDir: string;
const repos: TestRepo[] = [];

beforeAll(() => {
  nock.disableNetConnect();
});
afterAll(() => {
  nock.enableNetConnect();
  for (const repo of repos) repo.remove();
});

beforeEach(async () => {
  app = await createTestApp();
  ({ probot, queue } = app);
  ({ dataDir, workDir } = app.config);
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  app.remove();
  expect(pending, "every mocked GitHub request was made").toEqual([]);
});

interface Recorded {
  statuses: { context: string; state: string; description: string; target_url: string }[];
  checkRuns: Record<string, any>[];
}

/** GitHub as a PR build sees it: a token, the config lookup, statuses and one check run. */
function mockGitHub(sha: string, options: { pyciYml?: string; checkRunPatches?: number } = {}): Recorded {
  const recorded: Recorded = { statuses: [], checkRuns: [] };
  nock(API)
    .post(`/app/installations/${INSTALLATION}/access_tokens`)
    .reply(201, { token: TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {} });
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/statuses/${sha}`, (body) => (recorded.statuses.push(body), true))
    .times(4)
    .reply(201, {});
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/check-runs`, (body) => (recorded.checkRuns.push(body), true))
    .reply(201, { id: 77 });
  nock(API)
    .patch(`/repos/${OWNER}/${REPO}/check-runs/77`, (body) => (recorded.checkRuns.push(body), true))
    .times(options.checkRunPatches ?? 2)
    .reply(200, { id: 77 });
  if (options.pyciYml) {
    nock(API)
      .get(`/repos/${OWNER}/${REPO}/contents/${encodeURIComponent(".github/pyci.yml")}`)
      .reply(200, options.pyciYml, { "content-type": "text/plain; charset=utf-8" });
  } else {
    nock(API)
      .get(`/repos/${OWNER}/${REPO}/contents/${encodeURIComponent(".github/pyci.yml")}`)
      .reply(404, { message: "Not Found" });
    nock(API)
      .get(`/repos/${OWNER}/.github/contents/${encodeURIComponent(".github/pyci.yml")}`)
      .reply(404, { message: "Not Found" });
  }
  return recorded;
}

function payloadFor(repo: TestRepo, action = "opened") {
  return pullRequestPayload({
    action,
    owner: OWNER,
    repo: REPO,
    number: 12,
    headSha: repo.sha,
    sshUrl: repo.dir,
    cloneUrl: repo.dir,
    installationId: INSTALLATION,
    title: "Add things",
  });
}

function byContext(recorded: Recorded, context: string) {
  return recorded.statuses.filter((s) => s.context === context);
}

describe("pull_request.opened", () => {
  it("reports pending at once, then success with the numbers, and cleans up", async () => {
    const repo = makeRepo(PASSING);
    repos.push(repo);
    const recorded = mockGitHub(repo.sha);
    await probot.receive({ id: "delivery-pass", name: "pull_request", payload: payloadFor(repo) as any });
    await queue.onIdle();

    const check = byContext(recorded, "ci/check");
    const test = byContext(recorded, "ci/test");
    expect(check.map((s) => s.state)).toEqual(["pending", "success"]);
    expect(test.map((s) => [s.state, s.description])).toEqual([
      ["pending", "Queued"],
      ["success", "2 tests passed"],
    ]);
    expect(check[1]!.description).toMatch(/^No problems/);
    const buildUrl = check[0]!.target_url;
    expect(buildUrl).toMatch(/^https:\/\/ci\.example\.com\/builds\/[A-Za-z0-9_-]{22}$/);
    expect(recorded.statuses.every((s) => s.target_url === buildUrl)).toBe(true);

    const [created, started, completed] = recorded.checkRuns;
    expect(created).toMatchObject({ name: "pyci", head_sha: repo.sha, status: "queued", details_url: buildUrl });
    expect(started).toMatchObject({ status: "in_progress" });
    expect(completed).toMatchObject({ status: "completed", conclusion: "success" });
    expect(completed!.output.summary).toContain("| test | ✅ success |");
    expect(completed!.output.text).toContain("test_add");

    const build = new BuildStore(dataDir).get(buildUrl.split("/").pop()!);
    expect(build?.state).toBe("success");
    expect(build?.deliveryId).toBe("delivery-pass");
    expect(readdirSync(workDir)).toEqual([]);
  });

  it("fails on a syntax error and a failing test, with annotations on the right lines", async () => {
    const repo = makeRepo(FAILING);
    repos.push(repo);
    const recorded = mockGitHub(repo.sha);
    await probot.receive({
      id: "delivery-fail",
      name: "pull_request",
      payload: payloadFor(repo, "synchronize") as any,
    });
    await queue.onIdle();

    const finalCheck = byContext(recorded, "ci/check").at(-1)!;
    const finalTest = byContext(recorded, "ci/test").at(-1)!;
    expect(finalCheck.state).toBe("failure");
    expect(finalCheck.description).toMatch(/\d+ syntax errors?/);
    expect(["failure", "error"]).toContain(finalTest.state);

    const completed = recorded.checkRuns.at(-1)!;
    expect(completed.conclusion).toBe("failure");
    const annotations = completed.output.annotations as any[];
    const syntax = annotations.find((a) => a.title === "Syntax error");
    expect(syntax).toMatchObject({ path: "calc.py", annotation_level: "failure" });
    expect(syntax.start_line).toBeGreaterThanOrEqual(4);
    expect(recorded.statuses.every((s) => s.description.length <= 140)).toBe(true);
  });

  it("enforces type errors when .github/pyci.yml on the default branch says so", async () => {
    const repo = makeRepo({ ...PASSING, "typo.py": "x: int = 'not an int'\n" });
    repos.push(repo);
    const recorded = mockGitHub(repo.sha, { pyciYml: "check:\n  enforce_type_errors: true\n" });
    await probot.receive({ id: "delivery-cfg", name: "pull_request", payload: payloadFor(repo) as any });
    await queue.onIdle();
    const finalCheck = byContext(recorded, "ci/check").at(-1)!;
    expect(finalCheck.state).toBe("failure");
    expect(finalCheck.description).toMatch(/1 type error/);
    const annotation = (recorded.checkRuns.at(-1)!.output.annotations as any[]).find((a) => a.path === "typo.py");
    expect(annotation).toMatchObject({ start_line: 1, annotation_level: "failure" });
  });

  it("reports an unknown key of .github/pyci.yml with the nearest valid one, on the statuses and the check run", async () => {
    const repo = makeRepo(PASSING);
    repos.push(repo);
    const recorded = mockGitHub(repo.sha, { pyciYml: "tests:\n  pattern: 'check_*.py'\n" });
    await probot.receive({ id: "delivery-typo", name: "pull_request", payload: payloadFor(repo) as any });
    await queue.onIdle();
    const message = "Invalid .github/pyci.yml: unknown key tests (did you mean test?)";
    expect(byContext(recorded, "ci/test").at(-1)).toMatchObject({ state: "error", description: message });
    expect(recorded.checkRuns.at(-1)!.output.summary).toContain(message);
  });

  it("sends more than 50 annotations in batches of 50, the last with the conclusion", async () => {
    const lines = Array.from({ length: 60 }, (_, i) => `v${i}: int = "s${i}"`).join("\n");
    const repo = makeRepo({ ...PASSING, "many.py": `${lines}\n` });
    repos.push(repo);
    const recorded = mockGitHub(repo.sha, { checkRunPatches: 3 });
    await probot.receive({ id: "delivery-many", name: "pull_request", payload: payloadFor(repo) as any });
    await queue.onIdle();
    const [, , first, last] = recorded.checkRuns;
    expect(first!.output.annotations).toHaveLength(50);
    expect(first!.status).toBeUndefined();
    expect(last!.output.annotations).toHaveLength(10);
    expect(last).toMatchObject({ status: "completed", conclusion: "success" });
    expect(byContext(recorded, "ci/check").at(-1)!.description).toMatch(/60 type errors not enforced/);
  });

  it("reports a clone that cannot happen as error on both statuses", async () => {
    const repo = makeRepo(PASSING);
    repos.push(repo);
    // the check run goes from queued to completed: it is marked in progress only once the code is there
    const recorded = mockGitHub(repo.sha, { checkRunPatches: 1 });
    nock.removeInterceptor({
      hostname: "api.github.com",
      proto: "https",
      method: "GET",
      path: `/repos/${OWNER}/${REPO}/contents/${encodeURIComponent(".github/pyci.yml")}`,
    });
    nock.removeInterceptor({
      hostname: "api.github.com",
      proto: "https",
      method: "GET",
      path: `/repos/${OWNER}/.github/contents/${encodeURIComponent(".github/pyci.yml")}`,
    });
    const payload = payloadFor(repo) as any;
    payload.repository.clone_url = join(tmpdir(), "pyci-no-such-repository");
    await probot.receive({ id: "delivery-noclone", name: "pull_request", payload });
    await queue.onIdle();
    expect(byContext(recorded, "ci/check").at(-1)).toMatchObject({ state: "error" });
    expect(byContext(recorded, "ci/test").at(-1)!.description).toMatch(/^Clone failed/);
    expect(recorded.checkRuns.at(-1)).toMatchObject({ conclusion: "failure" });
    expect(recorded.checkRuns.map((body) => body.status)).not.toContain("in_progress");
    expect(readdirSync(workDir)).toEqual([]);
  });
});

describe("deliveries that start no build", () => {
  it("ignores a pull_request without an installation or with a malformed SHA, making no request", async () => {
    const repo = makeRepo(PASSING);
    repos.push(repo);
    const noInstallation = payloadFor(repo) as any;
    delete noInstallation.installation;
    const badSha = payloadFor(repo) as any;
    badSha.pull_request.head.sha = "--upload-pack=touch /tmp/pwned";
    await probot.receive({ id: "d1", name: "pull_request", payload: noInstallation });
    await probot.receive({ id: "d2", name: "pull_request", payload: badSha });
    await queue.onIdle();
    expect(new BuildStore(dataDir).list()).toEqual([]);
  });
});

describe("re-runs", () => {
  it("check_run.rerequested builds the run's commit again", async () => {
    const repo = makeRepo(PASSING);
    repos.push(repo);
    const recorded = mockGitHub(repo.sha);
    const pr = payloadFor(repo) as any;
    const payload = {
      action: "rerequested",
      check_run: { id: 5, name: "pyci", head_sha: repo.sha, pull_requests: [{ number: 12, head: { sha: repo.sha } }] },
      repository: pr.repository,
      installation: pr.installation,
      sender: pr.sender,
    };
    await probot.receive({ id: "delivery-rerun", name: "check_run", payload: payload as any });
    await queue.onIdle();
    expect(byContext(recorded, "ci/test").at(-1)).toMatchObject({ state: "success", description: "2 tests passed" });
  });

  it("check_suite.rerequested builds the suite's commit again", async () => {
    const repo = makeRepo(PASSING);
    repos.push(repo);
    const recorded = mockGitHub(repo.sha);
    const pr = payloadFor(repo) as any;
    const payload = {
      action: "rerequested",
      check_suite: { id: 6, head_sha: repo.sha, head_branch: "feature", pull_requests: [] },
      repository: pr.repository,
      installation: pr.installation,
      sender: pr.sender,
    };
    await probot.receive({ id: "delivery-suite", name: "check_suite", payload: payload as any });
    await queue.onIdle();
    expect(byContext(recorded, "ci/check").at(-1)).toMatchObject({ state: "success" });
    expect(recorded.checkRuns[0]).toMatchObject({ head_sha: repo.sha, status: "queued" });
  });
});
