import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { pullRequestPayload } from "../support/payloads.js";
import { createTestApp, type TestApp } from "../support/test-app.js";

const API = "https://api.github.com";
const UPLOADS = "https://uploads.github.com";
const OWNER = "octo-org";
const REPO = "calc";
const INSTALLATION = 4243;
const CONFIG_PATH = encodeURIComponent(".github/pyci.yml");

const DOCS = {
  "calc.py": "def add(a, b):\n    return a + b\n",
  "docs/conf.py": "project = 'calc'\nextensions = []\n",
  "docs/index.rst": "Calc\n====\n\n.. toctree::\n\n   usage\n",
  "docs/usage.rst": "Usage\n=====\n\nCall ``add``.\n",
};

let app: TestApp;
const repos: TestRepo[] = [];
beforeAll(() => nock.disableNetConnect());
afterAll(() => {
  nock.enableNetConnect();
  repos.forEach((r) => r.remove());
});
beforeEach(async () => {
  app = await createTestApp();
});
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  app.remove();
  expect(pending, "every mocked GitHub request was made").toEqual([]);
});

function merged(repo: TestRepo, options: { merged?: boolean; baseRef?: string } = {}) {
  return pullRequestPayload({
    action: "closed",
    merged: options.merged ?? true,
    mergeCommitSha: repo.sha,
    baseRef: options.baseRef ?? "main",
    defaultBranch: "main",
    owner: OWNER,
    repo: REPO,
    number: 31,
    headSha: "1".repeat(40),
    sshUrl: repo.dir,
    cloneUrl: repo.dir,
    installationId: INSTALLATION,
    title: "Document add()",
  }) as any;
}

interface Recorded {
  statuses: any[];
  checkRuns: any[];
  release?: any;
  uploaded?: Buffer;
}

function mockDocsBuild(sha: string, options: { publishes: boolean; defaultBranch?: string }): Recorded {
  const recorded: Recorded = { statuses: [], checkRuns: [] };
  nock(API)
    .post(`/app/installations/${INSTALLATION}/access_tokens`)
    .reply(201, { token: "ghs_docsTestToken", expires_at: new Date(Date.now() + 3_600_000).toISOString() });
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/statuses/${sha}`, (b) => (recorded.statuses.push(b), true))
    .times(2)
    .reply(201, {});
  nock(API)
    .post(`/repos/${OWNER}/${REPO}/check-runs`, (b) => (recorded.checkRuns.push(b), true))
    .reply(201, { id: 90 });
  nock(API)
    .patch(`/repos/${OWNER}/${REPO}/check-runs/90`, (b) => (recorded.checkRuns.push(b), true))
    .times(2)
    .reply(200, { id: 90 });
  nock(API).get(`/repos/${OWNER}/${REPO}/contents/${CONFIG_PATH}`).reply(404, { message: "Not Found" });
  nock(API).get(`/repos/${OWNER}/.github/contents/${CONFIG_PATH}`).reply(404, { message: "Not Found" });
  if (options.publishes) {
    nock(API)
      .post(`/repos/${OWNER}/${REPO}/releases`, (b) => ((recorded.release = b), true))
      .reply(201, {
        id: 5,
        upload_url: `${UPLOADS}/repos/${OWNER}/${REPO}/releases/5/assets{?name,label}`,
        html_url: "https://github.com/r",
      });
    nock(API).get(`/repos/${OWNER}/${REPO}/releases/5/assets`).query(true).reply(200, []);
    nock(UPLOADS)
      .post(
        `/repos/${OWNER}/${REPO}/releases/5/assets`,
        (body) => ((recorded.uploaded = Buffer.from(body, "hex")), true),
      )
      .query({ name: "docs-html.tar.gz" })
      .reply(201, { id: 6, name: "docs-html.tar.gz" });
    nock(API).get(`/repos/${OWNER}/${REPO}/releases`).query(true).reply(200, []);
  }
  return recorded;
}

describe("pull_request.closed", () => {
  it("builds the docs of a merge into the default branch and publishes them as a release", async () => {
    const repo = makeRepo(DOCS);
    repos.push(repo);
    const recorded = mockDocsBuild(repo.sha, { publishes: true });
    await app.probot.receive({ id: "merge-1", name: "pull_request", payload: merged(repo) });
    await app.queue.onIdle();

    expect(recorded.statuses.map((s) => [s.context, s.state])).toEqual([
      ["ci/docs", "pending"],
      ["ci/docs", "success"],
    ]);
    expect(recorded.statuses[1].description).toBe(
      `Docs built: 2 pages, no warnings; published as release docs-${repo.sha.slice(0, 7)}`,
    );
    expect(recorded.checkRuns[0]).toMatchObject({ name: "pyci docs", head_sha: repo.sha });
    expect(recorded.checkRuns.at(-1)).toMatchObject({ status: "completed", conclusion: "success" });
    expect(recorded.release).toMatchObject({
      tag_name: `docs-${repo.sha.slice(0, 7)}`,
      target_commitish: repo.sha,
      make_latest: "false",
    });
    expect(recorded.release.body).toContain("pull request #31 (Document add())");

    // the uploaded asset is a real archive with index.html at its top
    const dir = mkdtempSync(join(tmpdir(), "pyci-asset-"));
    writeFileSync(join(dir, "docs.tar.gz"), recorded.uploaded!);
    const listing = execFileSync("tar", ["-tzf", join(dir, "docs.tar.gz")], { encoding: "utf8" }).split("\n");
    expect(listing).toContain("index.html");
    expect(listing).toContain("usage.html");
    rmSync(dir, { recursive: true, force: true });
    expect(readdirSync(app.config.workDir)).toEqual([]);
  });

  it("reports a broken docs build as failure with the Sphinx error, and publishes nothing", async () => {
    const repo = makeRepo({ ...DOCS, "docs/conf.py": "project = 'calc'\nextensions = [\n" });
    repos.push(repo);
    const recorded = mockDocsBuild(repo.sha, { publishes: false });
    await app.probot.receive({ id: "merge-2", name: "pull_request", payload: merged(repo) });
    await app.queue.onIdle();
    expect(recorded.statuses[1]).toMatchObject({ context: "ci/docs", state: "failure" });
    expect(recorded.statuses[1].description).toMatch(/^Sphinx failed: conf.py has a syntax error at line 2/);
    const completed = recorded.checkRuns.at(-1);
    expect(completed.conclusion).toBe("failure");
    expect(completed.output.annotations).toContainEqual(
      expect.objectContaining({ path: "docs/conf.py", start_line: 2, annotation_level: "failure" }),
    );
  });

  it("says plainly that a repository without Sphinx docs has none, with a skipped check run", async () => {
    const repo = makeRepo({ "calc.py": "x = 1\n" });
    repos.push(repo);
    const recorded = mockDocsBuild(repo.sha, { publishes: false });
    await app.probot.receive({ id: "merge-3", name: "pull_request", payload: merged(repo) });
    await app.queue.onIdle();
    expect(recorded.statuses[1]).toMatchObject({
      context: "ci/docs",
      state: "success",
      description: "No Sphinx docs found",
    });
    expect(recorded.checkRuns.at(-1)).toMatchObject({ conclusion: "skipped" });
  });

  it("does nothing for a pull request closed without merging", async () => {
    const repo = makeRepo(DOCS);
    repos.push(repo);
    await app.probot.receive({ id: "close-1", name: "pull_request", payload: merged(repo, { merged: false }) });
    await app.queue.onIdle();
    expect(app.queue.running + app.queue.length).toBe(0);
  });

  it("publishes nothing for a merge into a branch that is neither the default nor listed in pyci.yml", async () => {
    const repo = makeRepo(DOCS);
    repos.push(repo);
    nock(API)
      .post(`/app/installations/${INSTALLATION}/access_tokens`)
      .reply(201, { token: "ghs_docsTestToken", expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    nock(API)
      .get(`/repos/${OWNER}/${REPO}/contents/${CONFIG_PATH}`)
      .reply(200, "docs:\n  branches: [release]\n", { "content-type": "text/plain; charset=utf-8" });
    await app.probot.receive({
      id: "merge-feature",
      name: "pull_request",
      payload: merged(repo, { baseRef: "feature" }),
    });
    await app.queue.onIdle();
    expect(app.queue.running + app.queue.length).toBe(0);
  });

  it("publishes a merge into a branch that pyci.yml lists under docs.branches", async () => {
    const repo = makeRepo(DOCS);
    repos.push(repo);
    nock(API)
      .get(`/repos/${OWNER}/${REPO}/contents/${CONFIG_PATH}`)
      .reply(200, "docs:\n  branches: [release]\n", { "content-type": "text/plain; charset=utf-8" });
    const recorded = mockDocsBuild(repo.sha, { publishes: true });
    await app.probot.receive({
      id: "merge-release",
      name: "pull_request",
      payload: merged(repo, { baseRef: "release" }),
    });
    await app.queue.onIdle();
    expect(recorded.statuses.at(-1)).toMatchObject({ context: "ci/docs", state: "success" });
  });
});
