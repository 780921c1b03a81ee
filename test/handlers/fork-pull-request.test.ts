import { readdirSync } from "node:fs";
import nock from "nock";
import type { Probot } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { BuildQueue } from "../../src/builds/build-queue.js";
import type { Config } from "../../src/config.js";
import { BuildStore } from "../../src/store/build-store.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { githubRules } from "../support/github-rules.js";
import { loadOpenApiSpec } from "../support/openapi-spec.js";
import { pullRequestPayload } from "../support/payloads.js";
import { createTestApp, type TestApp } from "../support/test-app.js";
import { validateSchema } from "../support/validate-schema.js";

const API = "https://api.github.com";
const OWNER = "octo-org";
const REPO = "calc";
const INSTALLATION = 4242;
const TOKEN = "ghs_forkTestToken0123456789";
const PR = 12;
const APPROVAL_RUN = 901;
const APPROVAL_RUN_URL = `https://github.com/${OWNER}/${REPO}/runs/${APPROVAL_RUN}`;

const PASSING = {
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py":
    "import unittest\nfrom calc import add\n\nclass AddTest(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
};

let app: TestApp;
let probot: Probot;
let queue: BuildQueue;
let repo: TestRepo;
const repos: TestRepo[] = [];
/** Requests no mock answered: pyci logs such failures and goes on, so a test must look for them. */
let unmatched: string[] = [];
const recordUnmatched = (req: { method?: string; path?: string }) => unmatched.push(`${req.method} ${req.path}`);

beforeAll(() => {
  nock.disableNetConnect();
  nock.emitter.on("no match", recordUnmatched);
});
afterAll(() => {
  nock.emitter.removeListener("no match", recordUnmatched);
  nock.enableNetConnect();
  for (const r of repos) r.remove();
});

beforeEach(async () => {
  app = await createTestApp();
  ({ probot, queue } = app);
  unmatched = [];
  // the fork's commit: a real repository that a build could clone, so a build that should not happen would
  repo = makeRepo(PASSING);
  repos.push(repo);
});

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  app.remove();
  expect(pending, "every mocked GitHub request was made").toEqual([]);
  expect(unmatched, "no request to GitHub beyond the mocked ones").toEqual([]);
});

function withPolicy(policy: Config["forkPolicy"]): void {
  // createApp keeps this Config object: the handlers read the policy from it on each delivery
  app.config.forkPolicy = policy;
}

/** Checks a request body against GitHub's OpenAPI description and its documented prose limits. */
function expectValid(method: string, template: string, body: unknown): void {
  const spec = loadOpenApiSpec();
  const op = spec.operation(method, template);
  const schema = validateSchema(op.requestSchema!, body, spec.document);
  const rules = githubRules(op.operationId, body);
  expect([...schema.errors, ...schema.unknown, ...rules.errors, ...rules.lint], `${op.operationId} body`).toEqual([]);
}

function forkPayload(options: { action?: string; sender?: string } = {}): any {
  const payload = pullRequestPayload({
    action: options.action ?? "opened",
    owner: OWNER,
    repo: REPO,
    number: PR,
    headSha: repo.sha,
    sshUrl: repo.dir,
    cloneUrl: repo.dir,
    installationId: INSTALLATION,
    title: "Add things",
    fork: true,
    forkOwner: "contributor",
  }) as any;
  if (options.sender) payload.sender = { ...payload.sender, login: options.sender, id: 99_001 };
  return payload;
}

function samePayload(): any {
  return pullRequestPayload({
    action: "opened",
    owner: OWNER,
    repo: REPO,
    number: PR,
    headSha: repo.sha,
    sshUrl: repo.dir,
    cloneUrl: repo.dir,
    installationId: INSTALLATION,
  });
}

function mockToken(): void {
  nock(API)
    .post(`/app/installations/${INSTALLATION}/access_tokens`)
    .reply(201, { token: TOKEN, expires_at: new Date(Date.now() + 3_600_000).toISOString(), permissions: {} });
}

function mockPermission(
  user: string,
  permission: "admin" | "write" | "read" | "none" | 404,
  roleName = String(permission),
): void {
  const scope = nock(API).get(`/repos/${OWNER}/${REPO}/collaborators/${user}/permission`);
  if (permission === 404) scope.reply(404, { message: `${user} is not a user` });
  else scope.reply(200, { permission, role_name: roleName, user: { login: user } });
}

interface Recorded {
  statuses: Record<string, any>[];
  checkRuns: Record<string, any>[];
}

/** What a whole PR build asks of GitHub after the token: statuses, one check run, the config lookup. */
function mockBuild(): Recorded {
  const recorded: Recorded = { statuses: [], checkRuns: [] };
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/statuses/${repo.sha}`, (body) => (recorded.statuses.push(body), true))
    .times(4)
    .reply(201, {});
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/check-runs`, (body) => (recorded.checkRuns.push(body), true))
    .reply(201, { id: 77 });
  nock(API)
    .patch(`/repos/${OWNER}/${REPO}/check-runs/77`, (body) => (recorded.checkRuns.push(body), true))
    .times(2)
    .reply(200, { id: 77 });
  nock(API)
    .get(`/repos/${OWNER}/${REPO}/contents/${encodeURIComponent(".github/pyci.yml")}`)
    .reply(404, { message: "Not Found" });
  nock(API)
    .get(`/repos/${OWNER}/.github/contents/${encodeURIComponent(".github/pyci.yml")}`)
    .reply(404, { message: "Not Found" });
  return recorded;
}

/** The approval check run and its two pending statuses. */
function mockApprovalRequest(): Recorded {
  const recorded: Recorded = { statuses: [], checkRuns: [] };
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/check-runs`, (body) => (recorded.checkRuns.push(body), true))
    .reply(201, { id: APPROVAL_RUN, html_url: APPROVAL_RUN_URL });
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/statuses/${repo.sha}`, (body) => (recorded.statuses.push(body), true))
    .times(2)
    .reply(201, {});
  return recorded;
}

/** GitHub's `check_run.requested_action` example, moved onto the approval run of the fork's commit. */
function approvalClick(
  sender: string,
  options: { headSha?: string; identifier?: string; externalId?: string } = {},
): any {
  const pr = forkPayload();
  return {
    action: "requested_action",
    check_run: {
      id: APPROVAL_RUN,
      name: "pyci",
      head_sha: options.headSha ?? repo.sha,
      external_id: options.externalId ?? `fork-approval:${PR}`,
      status: "completed",
      conclusion: "action_required",
      // GitHub lists no pull request and no head branch for a commit pushed to a fork
      pull_requests: [],
      check_suite: { id: 5, head_branch: null, head_sha: options.headSha ?? repo.sha, pull_requests: [] },
    },
    requested_action: { identifier: options.identifier ?? "approve" },
    repository: pr.repository,
    installation: pr.installation,
    sender: { login: sender, id: 99_002, type: "User" },
  };
}

function builds() {
  return new BuildStore(app.config.dataDir).list();
}

describe("CI_FORK_POLICY=approve (the default)", () => {
  it("asks for approval of a fork's pull request: an action_required check run with the button, pending statuses, no build", async () => {
    withPolicy("approve");
    mockToken();
    // the sender owns the fork: their write access would approve it, and they have none
    mockPermission("contributor", "read");
    const recorded = mockApprovalRequest();
    await probot.receive({ id: "fork-opened", name: "pull_request", payload: forkPayload() });
    await queue.onIdle();

    const [run] = recorded.checkRuns;
    expect(recorded.checkRuns).toHaveLength(1);
    expect(run).toMatchObject({
      name: "pyci",
      head_sha: repo.sha,
      status: "completed",
      conclusion: "action_required",
      external_id: `fork-approval:${PR}`,
      actions: [{ label: "Approve and run", identifier: "approve" }],
    });
    expect(run!.output.title).toBe(`Waiting for a maintainer to approve ${repo.sha.slice(0, 7)}`);
    expect(run!.output.summary).toContain("contributor/calc");
    expectValid("post", "/repos/{owner}/{repo}/check-runs", run);

    expect(recorded.statuses.map((s) => [s.context, s.state, s.description, s.target_url])).toEqual([
      ["ci/check", "pending", `Waiting for a maintainer to approve ${repo.sha.slice(0, 7)}`, APPROVAL_RUN_URL],
      ["ci/test", "pending", `Waiting for a maintainer to approve ${repo.sha.slice(0, 7)}`, APPROVAL_RUN_URL],
    ]);
    for (const status of recorded.statuses) expectValid("post", "/repos/{owner}/{repo}/statuses/{sha}", status);

    expect(builds()).toEqual([]);
    expect(readdirSync(app.config.workDir)).toEqual([]);
  });

  it("asks again on a new push: the approval is for one commit", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("contributor", "read");
    const first = mockApprovalRequest();
    await probot.receive({ id: "fork-opened", name: "pull_request", payload: forkPayload() });
    const old = repo.sha;
    repo.commit({ "more.py": "x = 1\n" });
    mockPermission("contributor", "read");
    const second = mockApprovalRequest();
    await probot.receive({ id: "fork-pushed", name: "pull_request", payload: forkPayload({ action: "synchronize" }) });
    await queue.onIdle();
    expect(first.checkRuns[0]!.head_sha).toBe(old);
    expect(second.checkRuns[0]).toMatchObject({ head_sha: repo.sha, conclusion: "action_required" });
    expect(builds()).toEqual([]);
  });

  it("builds a fork's pull request at once when its owner, who opened it, has write access", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("contributor", "write", "maintain");
    const recorded = mockBuild();
    await probot.receive({ id: "maintainer-fork", name: "pull_request", payload: forkPayload() });
    await queue.onIdle();
    expect(recorded.checkRuns[0]).toMatchObject({ name: "pyci", status: "queued" });
    expect(recorded.statuses.at(-1)).toMatchObject({ context: "ci/test", state: "success" });
    expect(builds().map((b) => [b.sha, b.state])).toEqual([[repo.sha, "success"]]);
    // a fork's build: it may use cached environments, never add one
    expect(builds()[0]?.request?.fork).toBe(true);
  });

  it("asks for approval when someone else (with write access) opened the fork's pull request, without asking GitHub who they are", async () => {
    withPolicy("approve");
    mockToken();
    const recorded = mockApprovalRequest();
    await probot.receive({
      id: "opened-by-other",
      name: "pull_request",
      payload: forkPayload({ sender: "maintainer" }),
    });
    await queue.onIdle();
    expect(recorded.checkRuns[0]).toMatchObject({ conclusion: "action_required" });
    expect(builds()).toEqual([]);
  });

  it("builds a pull request from the repository itself without asking anyone", async () => {
    withPolicy("approve");
    mockToken();
    const recorded = mockBuild();
    await probot.receive({ id: "same-repo", name: "pull_request", payload: samePayload() });
    await queue.onIdle();
    expect(recorded.statuses.at(-1)).toMatchObject({ context: "ci/test", state: "success" });
    expect(builds()).toHaveLength(1);
    expect(builds()[0]?.request?.fork).toBeUndefined();
  });

  it("treats a pull request whose fork was deleted (head.repo null) as a fork's", async () => {
    withPolicy("approve");
    mockToken();
    const recorded = mockApprovalRequest();
    const payload = forkPayload({ sender: "someone" });
    payload.pull_request.head.repo = null;
    await probot.receive({ id: "deleted-fork", name: "pull_request", payload });
    await queue.onIdle();
    expect(recorded.checkRuns[0]!.output.summary).toContain("a fork that no longer exists");
    expect(builds()).toEqual([]);
  });
});

describe("Approve and run", () => {
  it("a click by a maintainer builds exactly the approved commit", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("maintainer", "write", "maintain");
    nock(API).get(`/repos/${OWNER}/${REPO}/pulls/${PR}`).reply(200, forkPayload().pull_request);
    const recorded = mockBuild();
    await probot.receive({ id: "approve-click", name: "check_run", payload: approvalClick("maintainer") });
    await queue.onIdle();

    expect(recorded.statuses.map((s) => [s.context, s.state])).toEqual([
      ["ci/check", "pending"],
      ["ci/test", "pending"],
      ["ci/check", "success"],
      ["ci/test", "success"],
    ]);
    expect(recorded.checkRuns[0]).toMatchObject({ head_sha: repo.sha, status: "queued" });
    const [build] = builds();
    expect(build).toMatchObject({
      sha: repo.sha,
      prNumber: PR,
      event: "check_run.requested_action",
      state: "success",
      deliveryId: "approve-click",
    });
    expect(build?.request?.fork).toBe(true);
  });

  it("a click by someone with read access builds nothing and asks GitHub nothing more", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("passer-by", "read");
    await probot.receive({ id: "approve-read", name: "check_run", payload: approvalClick("passer-by") });
    await queue.onIdle();
    expect(builds()).toEqual([]);
    expect(readdirSync(app.config.workDir)).toEqual([]);
  });

  it("a click by someone who is no collaborator (404) builds nothing", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("stranger", 404);
    await probot.receive({ id: "approve-stranger", name: "check_run", payload: approvalClick("stranger") });
    await queue.onIdle();
    expect(builds()).toEqual([]);
  });

  it("a click on an older commit's run builds nothing once the pull request has moved on", async () => {
    withPolicy("approve");
    const old = repo.sha;
    repo.commit({ "more.py": "x = 1\n" });
    mockToken();
    mockPermission("maintainer", "admin");
    nock(API).get(`/repos/${OWNER}/${REPO}/pulls/${PR}`).reply(200, forkPayload().pull_request);
    await probot.receive({
      id: "approve-old",
      name: "check_run",
      payload: approvalClick("maintainer", { headSha: old }),
    });
    await queue.onIdle();
    expect(builds()).toEqual([]);
  });

  it("ignores another app's button and other check runs without asking GitHub", async () => {
    withPolicy("approve");
    await probot.receive({
      id: "other-button",
      name: "check_run",
      payload: approvalClick("maintainer", { identifier: "fix-lint" }),
    });
    await probot.receive({
      id: "other-run",
      name: "check_run",
      payload: approvalClick("maintainer", { externalId: "AAAAAAAAAAAAAAAAAAAAAA" }),
    });
    await queue.onIdle();
    expect(builds()).toEqual([]);
  });

  it("under CI_FORK_POLICY=skip an approval run's button builds nothing", async () => {
    withPolicy("skip");
    await probot.receive({ id: "approve-skip", name: "check_run", payload: approvalClick("maintainer") });
    await queue.onIdle();
    expect(builds()).toEqual([]);
  });
});

describe("re-runs of a fork's commit", () => {
  function rerun(kind: "check_run" | "check_suite", sender: string, externalId = `fork-approval:${PR}`): any {
    const click = approvalClick(sender);
    const suite = { id: 5, head_branch: null, head_sha: repo.sha, pull_requests: [] };
    const common = {
      action: "rerequested",
      repository: click.repository,
      installation: click.installation,
      sender: click.sender,
    };
    return kind === "check_run"
      ? { ...common, check_run: { ...click.check_run, external_id: externalId, check_suite: suite } }
      : { ...common, check_suite: suite };
  }

  it("check_suite.rerequested by someone without write access builds nothing", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("triager", "read", "triage");
    await probot.receive({ id: "suite-rerun-read", name: "check_suite", payload: rerun("check_suite", "triager") });
    await queue.onIdle();
    expect(builds()).toEqual([]);
  });

  it("check_run.rerequested of the approval run by a maintainer builds the commit, with its pull request", async () => {
    withPolicy("approve");
    mockToken();
    mockPermission("maintainer", "write");
    const recorded = mockBuild();
    await probot.receive({ id: "run-rerun-write", name: "check_run", payload: rerun("check_run", "maintainer") });
    await queue.onIdle();
    expect(recorded.statuses.at(-1)).toMatchObject({ context: "ci/test", state: "success" });
    expect(builds().map((b) => [b.sha, b.prNumber, b.event])).toEqual([[repo.sha, PR, "check_run.rerequested"]]);
  });

  it("under skip, a re-run reports skipped again and builds nothing", async () => {
    withPolicy("skip");
    mockToken();
    const checkRuns: any[] = [];
    nock(API)
      .post(`/repos/${OWNER}/${REPO}/check-runs`, (body) => (checkRuns.push(body), true))
      .reply(201, { id: 902 });
    await probot.receive({ id: "suite-rerun-skip", name: "check_suite", payload: rerun("check_suite", "maintainer") });
    await queue.onIdle();
    expect(checkRuns[0]).toMatchObject({ conclusion: "skipped" });
    expect(builds()).toEqual([]);
  });
});

describe("CI_FORK_POLICY=skip", () => {
  it("reports a skipped check run and no status, and builds nothing", async () => {
    withPolicy("skip");
    mockToken();
    const checkRuns: any[] = [];
    nock(API)
      .post(`/repos/${OWNER}/${REPO}/check-runs`, (body) => (checkRuns.push(body), true))
      .reply(201, { id: 903 });
    await probot.receive({ id: "fork-skip", name: "pull_request", payload: forkPayload() });
    await queue.onIdle();
    expect(checkRuns).toHaveLength(1);
    expect(checkRuns[0]).toMatchObject({
      name: "pyci",
      head_sha: repo.sha,
      status: "completed",
      conclusion: "skipped",
    });
    expect(checkRuns[0].output.summary).toContain("Pull requests from forks are not built here (CI_FORK_POLICY=skip)");
    expect(checkRuns[0].actions).toBeUndefined();
    expectValid("post", "/repos/{owner}/{repo}/check-runs", checkRuns[0]);
    expect(builds()).toEqual([]);
  });

  it("still builds a pull request from the repository itself", async () => {
    withPolicy("skip");
    mockToken();
    const recorded = mockBuild();
    await probot.receive({ id: "same-skip", name: "pull_request", payload: samePayload() });
    await queue.onIdle();
    expect(recorded.statuses.at(-1)).toMatchObject({ state: "success" });
    expect(builds()).toHaveLength(1);
  });
});

describe("CI_FORK_POLICY=run", () => {
  it("builds a fork's pull request at once, from the base repository", async () => {
    withPolicy("run");
    mockToken();
    const recorded = mockBuild();
    await probot.receive({ id: "fork-run", name: "pull_request", payload: forkPayload() });
    await queue.onIdle();
    expect(recorded.statuses.at(-1)).toMatchObject({ context: "ci/test", state: "success" });
    expect(builds().map((b) => [b.sha, b.state])).toEqual([[repo.sha, "success"]]);
  });
});
