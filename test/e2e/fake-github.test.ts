import { Probot, type ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { UnthrottledOctokit } from "../support/unthrottled-octokit.js";

const APP_ID = 4242;
const INSTALLATION_ID = 77;
const OWNER = "acme";
const REPO = "widgets";
const SHA = "0123456789abcdef0123456789abcdef01234567";

type Octokit = InstanceType<typeof ProbotOctokit>;


function probotFor(baseUrl: string, privateKey: string): Probot {
  return new Probot({ appId: APP_ID, privateKey, baseUrl, logLevel: "fatal", Octokit: UnthrottledOctokit });
}

function annotations(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    path: "src/app.py",
    start_line: i + 1,
    end_line: i + 1,
    annotation_level: "warning" as const,
    message: `problem ${i + 1}`,
  }));
}

async function expectStatus(promise: Promise<unknown>, status: number): Promise<void> {
  await expect(promise).rejects.toMatchObject({ status });
}

describe("startFakeGitHub", () => {
  const privateKey = generateAppKey();
  let gh: FakeGitHub;
  let octokit: Octokit;

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: APP_ID, privateKey });
    octokit = await probotFor(gh.baseUrl, privateKey).auth(INSTALLATION_ID);
  });

  afterAll(async () => {
    await gh?.stop();
  });

  afterEach(() => {
    gh.violations.length = 0;
  });

  it("mints an installation token for a correctly signed app JWT", async () => {
    await octokit.rest.repos.createCommitStatus({ owner: OWNER, repo: REPO, sha: SHA, state: "pending", context: "pyci" });
    const mint = gh.requests.find((r) => r.path === `/app/installations/${INSTALLATION_ID}/access_tokens`);
    expect(mint?.status).toBe(201);
    expect(mint?.headers.authorization).toMatch(/^bearer /i);
    expect(gh.issuedTokens).toHaveLength(1);
    expect(gh.issuedTokens[0]?.token).toMatch(/^ghs_/);
    const post = gh.requests.at(-1);
    expect(post?.headers.authorization).toBe(`token ${gh.issuedTokens[0]?.token}`);
    expect(gh.leakedTokens(JSON.stringify(post?.headers))).toEqual([gh.issuedTokens[0]?.token]);
    expect(gh.leakedTokens("nothing secret here")).toEqual([]);
  });

  it("accepts good commit statuses", async () => {
    for (const state of ["pending", "success", "failure", "error"] as const) {
      const { status, data } = await octokit.rest.repos.createCommitStatus({
        owner: OWNER,
        repo: REPO,
        sha: SHA,
        state,
        context: "pyci/check",
        description: "x".repeat(140),
        target_url: "http://127.0.0.1:3000/builds/1",
      });
      expect(status).toBe(201);
      expect(data.state).toBe(state);
    }
    expect(gh.statuses.filter((s) => s.body.context === "pyci/check")).toHaveLength(4);
    expect(gh.violations).toEqual([]);
  });

  it("rejects a status with state bogus", async () => {
    await expectStatus(
      octokit.rest.repos.createCommitStatus({ owner: OWNER, repo: REPO, sha: SHA, state: "bogus" as "error", context: "pyci" }),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/"bogus" is not a member/);
    expect(gh.requests.at(-1)?.response).toMatchObject({ message: expect.stringContaining("Invalid request") });
  });

  it("rejects a status description of 141 characters", async () => {
    await expectStatus(
      octokit.rest.repos.createCommitStatus({ owner: OWNER, repo: REPO, sha: SHA, state: "success", context: "pyci", description: "x".repeat(141) }),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/description is too long \(maximum is 140/);
  });

  it("rejects a status without state", async () => {
    await expectStatus(
      octokit.request("POST /repos/{owner}/{repo}/statuses/{sha}", { owner: OWNER, repo: REPO, sha: SHA, context: "pyci" } as never),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/'state' is required/);
  });

  it("creates and updates check runs, appending annotations across PATCHes", async () => {
    const created = await octokit.rest.checks.create({
      owner: OWNER,
      repo: REPO,
      name: "pyci / check",
      head_sha: SHA,
      status: "in_progress",
      external_id: "build-1",
      details_url: "http://127.0.0.1:3000/builds/1",
      started_at: new Date().toISOString(),
    });
    expect(created.status).toBe(201);
    const id = created.data.id;

    const first = await octokit.rest.checks.update({
      owner: OWNER,
      repo: REPO,
      check_run_id: id,
      output: { title: "pyright", summary: "s".repeat(65535), annotations: annotations(50) },
    });
    expect(first.status).toBe(200);
    const done = await octokit.rest.checks.update({
      owner: OWNER,
      repo: REPO,
      check_run_id: id,
      conclusion: "failure",
      completed_at: new Date().toISOString(),
      output: { title: "pyright", summary: "2 errors", annotations: annotations(2) },
    });
    expect(done.data).toMatchObject({ id, status: "completed", conclusion: "failure", output: { annotations_count: 52 } });

    const second = await octokit.rest.checks.create({ owner: OWNER, repo: REPO, name: "pyci / check", head_sha: SHA });
    expect(second.data.id).toBeGreaterThan(id);
    const listed = await octokit.rest.checks.listForRef({ owner: OWNER, repo: REPO, ref: SHA, check_name: "pyci / check" });
    expect(listed.data.check_runs.map((r) => r.id)).toEqual([second.data.id]);
    expect(gh.checkRuns.find((r) => r.id === id)?.annotations).toHaveLength(52);
    expect(gh.violations).toEqual([]);
  });

  it("rejects 51 annotations in one request", async () => {
    await expectStatus(
      octokit.rest.checks.create({
        owner: OWNER,
        repo: REPO,
        name: "pyci / check",
        head_sha: SHA,
        output: { title: "pyright", summary: "many", annotations: annotations(51) },
      }),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/'output.annotations' has 51 items, more than the maximum of 50/);
  });

  it("rejects bad check run enums, oversized text and a completed run without conclusion", async () => {
    const bad = [
      { name: "c", head_sha: SHA, status: "done" },
      { name: "c", head_sha: SHA, conclusion: "passed" },
      { name: "c", head_sha: SHA, status: "completed" },
      { name: "c", head_sha: SHA, output: { title: "t", summary: "ok", text: "t".repeat(65536) } },
      { name: "c", head_sha: SHA, output: { title: "t", summary: "ok", annotations: [{ ...annotations(1)[0], annotation_level: "error" }] } },
      { head_sha: SHA },
    ];
    for (const body of bad) {
      await expectStatus(octokit.request("POST /repos/{owner}/{repo}/check-runs", { owner: OWNER, repo: REPO, ...body } as never), 422);
    }
    const v = gh.violations.join("\n");
    expect(v).toMatch(/"done" is not a member/);
    expect(v).toMatch(/"passed" is not a member/);
    expect(v).toMatch(/conclusion is required/);
    expect(v).toMatch(/'output.text' is too long/);
    expect(v).toMatch(/"error" is not a member of \["notice","warning","failure"\]/);
    expect(v).toMatch(/'name' is required/);
  });

  it("rejects a PATCH that completes a run without a conclusion (the anyOf in GitHub's schema)", async () => {
    const { data } = await octokit.rest.checks.create({ owner: OWNER, repo: REPO, name: "c", head_sha: SHA });
    await expectStatus(
      octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", { owner: OWNER, repo: REPO, check_run_id: data.id, status: "completed" } as never),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/anyOf/);
  });

  it("records unknown properties as violations but accepts them, as GitHub does", async () => {
    const res = await octokit.request("POST /repos/{owner}/{repo}/statuses/{sha}", {
      owner: OWNER,
      repo: REPO,
      sha: SHA,
      state: "success",
      context: "pyci",
      descripton: "typo",
    } as never);
    expect(res.status).toBe(201);
    expect(gh.violations.join("\n")).toMatch(/'descripton' is not in the schema/);
  });

  it("serves file contents, raw for Probot's config, and 404 otherwise", async () => {
    gh.setContent(OWNER, REPO, ".github/pyci.yml", "steps: [check, test]\n");
    const json = await octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: ".github/pyci.yml" });
    const file = json.data as { content: string; encoding: string };
    expect(file.encoding).toBe("base64");
    expect(Buffer.from(file.content, "base64").toString()).toBe("steps: [check, test]\n");

    const { config } = await octokit.config.get({ owner: OWNER, repo: REPO, path: ".github/pyci.yml" });
    expect(config).toEqual({ steps: ["check", "test"] });

    gh.setContent(OWNER, ".github", ".github/pyci.yml", "steps: [docs]\n");
    const fallback = await octokit.config.get({ owner: OWNER, repo: "other", path: ".github/pyci.yml" });
    expect(fallback.config).toEqual({ steps: ["docs"] });

    gh.setContent(OWNER, REPO, ".github/pyci.yml", null);
    gh.setContent(OWNER, ".github", ".github/pyci.yml", null);
    await expectStatus(octokit.rest.repos.getContent({ owner: OWNER, repo: REPO, path: ".github/pyci.yml" }), 404);
    expect(gh.unexpected).toEqual([]);
  });

  it("answers 401 without an installation token and for a JWT signed by another key", async () => {
    const anon = await fetch(`${gh.baseUrl}/repos/${OWNER}/${REPO}/statuses/${SHA}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ state: "success" }),
    });
    expect(anon.status).toBe(401);

    const strangerOctokit = await probotFor(gh.baseUrl, generateAppKey()).auth(INSTALLATION_ID);
    await expectStatus(strangerOctokit.rest.repos.createCommitStatus({ owner: OWNER, repo: REPO, sha: SHA, state: "success", context: "pyci" }), 401);
    expect(gh.violations.join("\n")).toMatch(/no installation token[\s\S]*JWT signature does not match/);
  });

  it("answers 404 to routes it does not know and records them as unexpected", async () => {
    await expectStatus(octokit.rest.issues.create({ owner: OWNER, repo: REPO, title: "nope" }), 404);
    expect(gh.unexpected.map((r) => `${r.method} ${r.path} ${r.operationId}`)).toEqual([
      `POST /repos/${OWNER}/${REPO}/issues issues/create`,
    ]);
    gh.unexpected.length = 0;
  });

  it("injects failures and waits for requests", async () => {
    gh.failNext({ method: "POST", path: /\/statuses\//, status: 502 });
    await expectStatus(
      octokit.request("POST /repos/{owner}/{repo}/statuses/{sha}", { owner: OWNER, repo: REPO, sha: SHA, state: "success", context: "pyci", request: { retries: 0 } }),
      502,
    );
    const waiting = gh.waitFor((reqs) => reqs.some((r) => r.path === "/app"));
    await octokit.request("GET /app").catch(() => undefined);
    await fetch(`${gh.baseUrl}/app`);
    await waiting;
    await expect(gh.waitFor(() => false, 50)).rejects.toThrow(/condition not met/);
  });
});
