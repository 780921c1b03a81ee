import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probot, type ProbotOctokit } from "probot";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  DOCS_RELEASE_MARKER,
  docsTag,
  publishDocsRelease,
  type DocsRelease,
} from "../../src/github/publish-docs-release.js";
import type { GitHubWriter } from "../../src/github/types.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { loadOpenApiSpec } from "../support/openapi-spec.js";
import { UnthrottledOctokit } from "../support/unthrottled-octokit.js";
import { validateSchema } from "../support/validate-schema.js";

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
    await octokit.rest.repos.createCommitStatus({
      owner: OWNER,
      repo: REPO,
      sha: SHA,
      state: "pending",
      context: "pyci",
    });
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
      octokit.rest.repos.createCommitStatus({
        owner: OWNER,
        repo: REPO,
        sha: SHA,
        state: "bogus" as "error",
        context: "pyci",
      }),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/"bogus" is not a member/);
    expect(gh.requests.at(-1)?.response).toMatchObject({ message: expect.stringContaining("Invalid request") });
  });

  it("rejects a status description of 141 characters", async () => {
    await expectStatus(
      octokit.rest.repos.createCommitStatus({
        owner: OWNER,
        repo: REPO,
        sha: SHA,
        state: "success",
        context: "pyci",
        description: "x".repeat(141),
      }),
      422,
    );
    expect(gh.violations.join("\n")).toMatch(/description is too long \(maximum is 140/);
  });

  it("rejects a status without state", async () => {
    await expectStatus(
      octokit.request("POST /repos/{owner}/{repo}/statuses/{sha}", {
        owner: OWNER,
        repo: REPO,
        sha: SHA,
        context: "pyci",
      } as never),
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
    expect(done.data).toMatchObject({
      id,
      status: "completed",
      conclusion: "failure",
      output: { annotations_count: 52 },
    });

    const second = await octokit.rest.checks.create({ owner: OWNER, repo: REPO, name: "pyci / check", head_sha: SHA });
    expect(second.data.id).toBeGreaterThan(id);
    const listed = await octokit.rest.checks.listForRef({
      owner: OWNER,
      repo: REPO,
      ref: SHA,
      check_name: "pyci / check",
    });
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
      {
        name: "c",
        head_sha: SHA,
        output: { title: "t", summary: "ok", annotations: [{ ...annotations(1)[0], annotation_level: "error" }] },
      },
      { head_sha: SHA },
    ];
    for (const body of bad) {
      await expectStatus(
        octokit.request("POST /repos/{owner}/{repo}/check-runs", { owner: OWNER, repo: REPO, ...body } as never),
        422,
      );
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
      octokit.request("PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}", {
        owner: OWNER,
        repo: REPO,
        check_run_id: data.id,
        status: "completed",
      } as never),
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
    await expectStatus(
      strangerOctokit.rest.repos.createCommitStatus({
        owner: OWNER,
        repo: REPO,
        sha: SHA,
        state: "success",
        context: "pyci",
      }),
      401,
    );
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
      octokit.request("POST /repos/{owner}/{repo}/statuses/{sha}", {
        owner: OWNER,
        repo: REPO,
        sha: SHA,
        state: "success",
        context: "pyci",
        request: { retries: 0 },
      }),
      502,
    );
    const waiting = gh.waitFor((reqs) => reqs.some((r) => r.path === "/app"));
    await octokit.request("GET /app").catch(() => undefined);
    await fetch(`${gh.baseUrl}/app`);
    await waiting;
    await expect(gh.waitFor(() => false, 50)).rejects.toThrow(/condition not met/);
  });
});

const MERGE_SHA = "abcdef0123456789abcdef0123456789abcdef01";

/** What GitHub's OpenAPI description says is wrong with `value` as a `component` (a response shape). */
function shapeErrors(component: string, value: unknown): string[] {
  const spec = loadOpenApiSpec();
  return validateSchema({ $ref: `#/components/schemas/${component}` }, value, spec.document).errors.map(
    (e) => `${e.field}: ${e.message}`,
  );
}

/** Every byte value, twice: no UTF-8, no JSON, a NUL up front. */
function binary(): Buffer {
  return Buffer.concat([
    Buffer.from([0, 0x1f, 0x8b, 0xff, 0xfe]),
    Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256)),
  ]);
}

describe("startFakeGitHub: the Releases API", () => {
  const privateKey = generateAppKey();
  let gh: FakeGitHub;
  let octokit: Octokit;
  let probot: Probot;

  beforeAll(async () => {
    gh = await startFakeGitHub({ appId: APP_ID, privateKey });
    probot = probotFor(gh.baseUrl, privateKey);
    octokit = await probot.auth(INSTALLATION_ID);
  });

  afterAll(async () => {
    await gh?.stop();
  });

  beforeEach(() => {
    gh.setReleases(OWNER, REPO, []);
    gh.requests.length = 0;
  });

  afterEach(() => {
    gh.violations.length = 0;
    gh.unexpected.length = 0;
  });

  const create = (tag: string, extra: Record<string, unknown> = {}) =>
    octokit.rest.repos.createRelease({
      owner: OWNER,
      repo: REPO,
      tag_name: tag,
      target_commitish: MERGE_SHA,
      name: tag,
      body: "notes",
      make_latest: "false",
      ...extra,
    });

  it("creates a release shaped like GitHub's, with a GHES upload_url, and 422s an existing tag", async () => {
    const { status, data, headers } = await create("docs-abcdef0");
    expect(status).toBe(201);
    expect(shapeErrors("release", data)).toEqual([]);
    expect(data).toMatchObject({
      tag_name: "docs-abcdef0",
      target_commitish: MERGE_SHA,
      name: "docs-abcdef0",
      body: "notes",
      draft: false,
      prerelease: false,
      assets: [],
      author: { login: "pyci-test[bot]", type: "Bot" },
      url: `${gh.baseUrl}/repos/${OWNER}/${REPO}/releases/${data.id}`,
      assets_url: `${gh.baseUrl}/repos/${OWNER}/${REPO}/releases/${data.id}/assets`,
      upload_url: `http://${gh.host}/api/uploads/repos/${OWNER}/${REPO}/releases/${data.id}/assets{?name,label}`,
      html_url: `http://${gh.host}/${OWNER}/${REPO}/releases/tag/docs-abcdef0`,
    });
    expect(data.published_at).toBe(data.created_at);
    expect(headers.location).toBe(data.url);
    expect(gh.tags).toEqual([{ owner: OWNER, repo: REPO, name: "docs-abcdef0", sha: MERGE_SHA }]);

    const again = await create("docs-abcdef0").catch((error: unknown) => error);
    expect(again).toMatchObject({
      status: 422,
      response: {
        data: {
          message: "Validation Failed",
          errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }],
          documentation_url: "https://docs.github.com/rest/releases/releases#create-a-release",
        },
      },
    });
    expect(gh.releases).toHaveLength(1);
    expect(gh.violations).toEqual([]);
  });

  it("finds a release by tag, updates it, and keeps make_latest to GitHub's strings", async () => {
    gh.setReleases(OWNER, REPO, [{ tagName: "v1.0.0", body: "First!", latest: true }]);
    const { data: created } = await create("docs-1111111");
    const { data: found } = await octokit.rest.repos.getReleaseByTag({ owner: OWNER, repo: REPO, tag: "docs-1111111" });
    expect(found.id).toBe(created.id);
    const { data: updated } = await octokit.rest.repos.updateRelease({
      owner: OWNER,
      repo: REPO,
      release_id: created.id,
      body: "new notes",
      make_latest: "false",
    });
    expect(updated).toMatchObject({ id: created.id, body: "new notes", tag_name: "docs-1111111" });
    expect(gh.release(OWNER, REPO, "docs-1111111")?.body).toBe("new notes");
    const { data: latest } = await octokit.rest.repos.getLatestRelease({ owner: OWNER, repo: REPO });
    expect(latest.tag_name).toBe("v1.0.0");
    expect(gh.violations).toEqual([]);

    await expectStatus(create("docs-2222222", { make_latest: false }), 422);
    await expectStatus(
      octokit.request("PATCH /repos/{owner}/{repo}/releases/{release_id}", {
        owner: OWNER,
        repo: REPO,
        release_id: created.id,
        make_latest: "maybe",
      } as never),
      422,
    );
    await expectStatus(create("docs bad tag"), 422);
    expect(gh.violations).toHaveLength(3);
    expect(gh.violations[0]).toMatch(
      /POST \/repos\/acme\/widgets\/releases: make_latest: 'make_latest' must be of type string, got false/,
    );
    expect(gh.violations[1]).toMatch(/PATCH .*: make_latest: "maybe" is not a member of \["true","false","legacy"\]/);
    expect(gh.violations[2]).toMatch(/tag_name is not a valid tag: "docs bad tag"/);

    await expectStatus(octokit.rest.repos.getReleaseByTag({ owner: OWNER, repo: REPO, tag: "docs-nothere" }), 404);
    // A draft is not "published": GET …/releases/tags/:tag does not find it, and it has no tag yet.
    await create("docs-draft00", { draft: true });
    await expectStatus(octokit.rest.repos.getReleaseByTag({ owner: OWNER, repo: REPO, tag: "docs-draft00" }), 404);
    expect(gh.tags.map((t) => t.name)).not.toContain("docs-draft00");
    expect(gh.unexpected).toEqual([]);
  });

  it("creates a release on a tag that outlived its release, keeping the tag's commit", async () => {
    const { data: old } = await create("docs-0ld0000");
    await octokit.rest.repos.deleteRelease({ owner: OWNER, repo: REPO, release_id: old.id });
    const { status, data } = await create("docs-0ld0000", { target_commitish: "f".repeat(40) });
    expect(status).toBe(201);
    expect(data.id).not.toBe(old.id);
    // target_commitish is "unused if the Git tag already exists".
    expect(gh.tags).toEqual([{ owner: OWNER, repo: REPO, name: "docs-0ld0000", sha: MERGE_SHA }]);
    expect(gh.violations).toEqual([]);
  });

  it("lists releases newest first, paginated with GitHub's Link header", async () => {
    gh.setReleases(
      OWNER,
      REPO,
      ["v0.1.0", "v0.2.0", "v0.3.0", "v0.4.0", "v0.5.0"].map((tagName) => ({ tagName })),
    );
    const first = await octokit.rest.repos.listReleases({ owner: OWNER, repo: REPO, per_page: 2 });
    expect(first.data.map((r) => r.tag_name)).toEqual(["v0.5.0", "v0.4.0"]);
    expect(first.headers.link).toMatch(
      new RegExp(
        `^<http://${gh.host}/api/v3/repositories/\\d+/releases\\?per_page=2&page=2>; rel="next", <.*page=3>; rel="last"$`,
      ),
    );
    const middle = await octokit.rest.repos.listReleases({ owner: OWNER, repo: REPO, per_page: 2, page: 2 });
    expect(middle.headers.link).toMatch(/rel="prev", .*rel="next", .*rel="last", .*page=1>; rel="first"$/);
    const all = await octokit.paginate(octokit.rest.repos.listReleases, { owner: OWNER, repo: REPO, per_page: 2 });
    expect(all.map((r) => r.tag_name)).toEqual(["v0.5.0", "v0.4.0", "v0.3.0", "v0.2.0", "v0.1.0"]);
    expect(gh.requests.filter((r) => r.path.startsWith("/repositories/")).map((r) => r.status)).toEqual([200, 200]);
    expect(gh.unexpected).toEqual([]);
    expect(gh.violations).toEqual([]);
  });

  it("deletes releases (the tag stays) and tags through DELETE /git/refs, encoded or not", async () => {
    const { data: a } = await create("docs-aaaaaaa");
    const { data: b } = await create("docs-bbbbbbb");
    expect((await octokit.rest.repos.deleteRelease({ owner: OWNER, repo: REPO, release_id: a.id })).status).toBe(204);
    expect(gh.release(OWNER, REPO, "docs-aaaaaaa")).toBeUndefined();
    expect(gh.tags.map((t) => t.name)).toEqual(["docs-aaaaaaa", "docs-bbbbbbb"]);
    await expectStatus(octokit.rest.repos.deleteRelease({ owner: OWNER, repo: REPO, release_id: a.id }), 404);

    expect((await octokit.rest.git.deleteRef({ owner: OWNER, repo: REPO, ref: "tags/docs-aaaaaaa" })).status).toBe(204);
    expect(gh.requests.at(-1)?.url).toBe(`/api/v3/repos/${OWNER}/${REPO}/git/refs/tags%2Fdocs-aaaaaaa`);
    expect(gh.tags.map((t) => t.name)).toEqual(["docs-bbbbbbb"]);
    const gone = await octokit.rest.git
      .deleteRef({ owner: OWNER, repo: REPO, ref: "tags/docs-aaaaaaa" })
      .catch((error: unknown) => error);
    expect(gone).toMatchObject({ status: 422, response: { data: { message: "Reference does not exist" } } });

    // The slash unencoded, as curl would send it; the tag of a published release: it becomes a draft.
    const token = gh.issuedTokens.at(-1)!.token;
    const raw = await fetch(`${gh.baseUrl}/repos/${OWNER}/${REPO}/git/refs/tags/docs-bbbbbbb`, {
      method: "DELETE",
      headers: { authorization: `token ${token}` },
    });
    expect(raw.status).toBe(204);
    expect(gh.tags).toEqual([]);
    expect(gh.release(OWNER, REPO, "docs-bbbbbbb")).toMatchObject({ id: b.id, draft: true });

    // "refs/tags/…" is a classic mistake: GitHub answers 422, which a careless caller takes for "already gone".
    await expectStatus(octokit.rest.git.deleteRef({ owner: OWNER, repo: REPO, ref: "refs/tags/docs-bbbbbbb" }), 422);
    expect(gh.violations).toEqual([expect.stringMatching(/starts with refs\//)]);
    expect(gh.unexpected).toEqual([]);
  });

  it("takes raw binary uploads at the GHES upload_url, stores the bytes, and 422s a same-name asset", async () => {
    const { data: release } = await create("docs-upload0");
    const bytes = binary();
    const upload = (name: string, data: Buffer) =>
      octokit.request({
        method: "POST",
        url: release.upload_url,
        name,
        label: "HTML docs",
        data,
        headers: { "content-type": "application/gzip", "content-length": data.length },
      });

    const { status, data: asset } = await upload("docs-html.tar.gz", bytes);
    expect(status).toBe(201);
    expect(shapeErrors("release-asset", asset)).toEqual([]);
    expect(asset).toMatchObject({
      name: "docs-html.tar.gz",
      label: "HTML docs",
      content_type: "application/gzip",
      size: bytes.length,
      state: "uploaded",
      url: expect.stringMatching(new RegExp(`^${gh.baseUrl}/repos/${OWNER}/${REPO}/releases/assets/\\d+$`)),
      browser_download_url: `http://${gh.host}/${OWNER}/${REPO}/releases/download/docs-upload0/docs-html.tar.gz`,
    });
    const sent = gh.requests.at(-1)!;
    expect(sent).toMatchObject({
      api: "uploads",
      method: "POST",
      path: `/repos/${OWNER}/${REPO}/releases/${release.id}/assets`,
      url: `/api/uploads/repos/${OWNER}/${REPO}/releases/${release.id}/assets?name=docs-html.tar.gz&label=HTML%20docs`,
      operationId: "repos/upload-release-asset",
      body: undefined,
      rawBody: "",
    });
    expect(sent.rawBytes.equals(bytes)).toBe(true);
    expect(gh.asset(OWNER, REPO, "docs-upload0", "docs-html.tar.gz")?.equals(bytes)).toBe(true);

    const dup = await upload("docs-html.tar.gz", Buffer.from("other")).catch((error: unknown) => error);
    expect(dup).toMatchObject({
      status: 422,
      response: { data: { errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }] } },
    });

    const listed = await octokit.paginate(octokit.rest.repos.listReleaseAssets, {
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
      per_page: 100,
    });
    expect(listed.map((a) => [a.id, a.name, a.size])).toEqual([[asset.id, "docs-html.tar.gz", bytes.length]]);
    const { data: withAssets } = await octokit.rest.repos.getRelease({
      owner: OWNER,
      repo: REPO,
      release_id: release.id,
    });
    expect(withAssets.assets.map((a) => a.id)).toEqual([asset.id]);

    const download = await fetch(asset.browser_download_url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);

    expect((await octokit.rest.repos.deleteReleaseAsset({ owner: OWNER, repo: REPO, asset_id: asset.id })).status).toBe(
      204,
    );
    await expectStatus(octokit.rest.repos.deleteReleaseAsset({ owner: OWNER, repo: REPO, asset_id: asset.id }), 404);
    expect(gh.asset(OWNER, REPO, "docs-upload0", "docs-html.tar.gz")).toBeUndefined();
    expect((await upload("docs-html.tar.gz", bytes)).status).toBe(201);

    // The REST prefix is no upload endpoint; and uploads need the installation token too.
    await expectStatus(
      octokit.request({
        method: "POST",
        url: `${gh.baseUrl}/repos/${OWNER}/${REPO}/releases/${release.id}/assets?name=x.bin`,
        data: bytes,
        headers: { "content-type": "application/octet-stream" },
      }),
      404,
    );
    expect(gh.unexpected.map((r) => `${r.api} ${r.method} ${r.path}`)).toEqual([
      `rest POST /repos/${OWNER}/${REPO}/releases/${release.id}/assets`,
    ]);
    const anon = await fetch(release.upload_url.replace(/\{.*\}$/, "?name=anon.bin"), {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: bytes,
    });
    expect(anon.status).toBe(401);
    expect(gh.violations).toEqual([expect.stringMatching(/POST \/repos\/.*\/assets: no installation token/)]);
  });

  describe("pyci's publishDocsRelease", () => {
    let dir: string;
    let github: GitHubWriter;

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "pyci-fake-releases-"));
      github = { octokit, log: probot.log };
    });

    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    const target = (sha = MERGE_SHA) => ({ owner: OWNER, repo: REPO, sha });

    async function docs(content: Buffer, keep = 5): Promise<DocsRelease> {
      const path = join(dir, `archive-${Math.random().toString(36).slice(2)}.tar.gz`);
      await writeFile(path, content);
      return {
        prNumber: 7,
        prTitle: "Add docs",
        buildUrl: "http://127.0.0.1:3000/builds/42",
        archive: { name: "docs-html.tar.gz", path, contentType: "application/gzip" },
        keep,
      };
    }

    const docsReleases = () => gh.releases.filter((r) => r.tagName === docsTag(MERGE_SHA));

    it("publishes the archive's exact bytes as the asset of a docs release that does not become latest", async () => {
      gh.setReleases(OWNER, REPO, [{ tagName: "v1.0.0", body: "The real release", latest: true }]);
      const bytes = binary();
      const published = await publishDocsRelease(github, target(), await docs(bytes));
      const release = gh.release(OWNER, REPO, "docs-abcdef0");
      expect(published).toEqual({
        tag: "docs-abcdef0",
        releaseId: release?.id,
        htmlUrl: `http://${gh.host}/${OWNER}/${REPO}/releases/tag/docs-abcdef0`,
        assetUrl: `http://${gh.host}/${OWNER}/${REPO}/releases/download/docs-abcdef0/docs-html.tar.gz`,
      });
      expect(release).toMatchObject({
        targetCommitish: MERGE_SHA,
        draft: false,
        prerelease: false,
        latest: false,
        author: { login: "pyci-test[bot]", type: "Bot" },
      });
      expect(release?.body).toContain(DOCS_RELEASE_MARKER);
      expect(release?.assets.map((a) => [a.name, a.contentType, a.size])).toEqual([
        ["docs-html.tar.gz", "application/gzip", bytes.length],
      ]);
      expect(gh.asset(OWNER, REPO, "docs-abcdef0", "docs-html.tar.gz")?.equals(bytes)).toBe(true);
      expect(gh.release(OWNER, REPO, "v1.0.0")?.latest).toBe(true);
      expect(gh.tags.map((t) => `${t.name}@${t.sha}`)).toContain(`docs-abcdef0@${MERGE_SHA}`);
      expect(gh.requests.filter((r) => r.api === "uploads")).toHaveLength(1);
      expect(gh.violations).toEqual([]);
      expect(gh.unexpected).toEqual([]);
    });

    it("converges on one release with one asset when a delivery is redelivered", async () => {
      await publishDocsRelease(github, target(), await docs(Buffer.from("first build")));
      const second = await publishDocsRelease(github, target(), await docs(Buffer.from("second build")));
      expect(docsReleases()).toHaveLength(1);
      expect(docsReleases()[0]?.id).toBe(second.releaseId);
      expect(docsReleases()[0]?.assets).toHaveLength(1);
      expect(gh.asset(OWNER, REPO, "docs-abcdef0", "docs-html.tar.gz")?.toString()).toBe("second build");
      expect(
        gh.requests.filter((r) => r.method === "POST" && r.path.endsWith("/releases")).map((r) => r.status),
      ).toEqual([201, 422]);
      expect(gh.violations).toEqual([]);
      expect(gh.unexpected).toEqual([]);
    });

    it("converges on one release with one asset when two deliveries race", async () => {
      const results = await Promise.all([
        publishDocsRelease(github, target(), await docs(Buffer.from("racer one"))),
        publishDocsRelease(github, target(), await docs(Buffer.from("racer two"))),
      ]);
      expect(new Set(results.map((r) => r.releaseId)).size).toBe(1);
      expect(docsReleases()).toHaveLength(1);
      expect(docsReleases()[0]?.assets).toHaveLength(1);
      expect(["racer one", "racer two"]).toContain(
        gh.asset(OWNER, REPO, "docs-abcdef0", "docs-html.tar.gz")?.toString(),
      );
      expect(gh.violations).toEqual([]);
      expect(gh.unexpected).toEqual([]);
    });

    it("converges when two pyci processes race (no in-process lock between them)", async () => {
      // A second instance of the module has its own `serialized` map, as a second pyci process would.
      const secondInstance = "../../src/github/publish-docs-release.js?process=2";
      const other = (await import(secondInstance)) as { publishDocsRelease: typeof publishDocsRelease };
      expect(other.publishDocsRelease).not.toBe(publishDocsRelease);
      for (let round = 0; round < 3; round++) {
        gh.setReleases(OWNER, REPO, []);
        const results = await Promise.all([
          publishDocsRelease(github, target(), await docs(Buffer.from("process one"))),
          other.publishDocsRelease(github, target(), await docs(Buffer.from("process two"))),
        ]);
        expect(results[0].releaseId).toBe(results[1].releaseId);
        expect(docsReleases()).toHaveLength(1);
        expect(docsReleases()[0]?.assets).toHaveLength(1);
        expect(["process one", "process two"]).toContain(
          gh.asset(OWNER, REPO, "docs-abcdef0", "docs-html.tar.gz")?.toString(),
        );
      }
      expect(
        gh.requests.filter((r) => r.method === "POST" && r.path.endsWith("/releases")).map((r) => r.status),
      ).toEqual([201, 422, 201, 422, 201, 422]);
      expect(gh.violations).toEqual([]);
      expect(gh.unexpected).toEqual([]);
    });

    it("prunes only its own oldest docs releases beyond keep, with their tags", async () => {
      const marked = (sha: string) => `Documentation built by pyci from a merge at ${sha}.\n${DOCS_RELEASE_MARKER}`;
      gh.setReleases(OWNER, REPO, [
        { tagName: "docs-handmade", body: "Hand-written docs snapshot (no marker)" },
        { tagName: "v1.0.0", body: "The real release", latest: true },
        {
          tagName: "docs-1111111",
          body: marked("1111111"),
          author: "pyci-test[bot]",
          targetCommitish: "1111111".padEnd(40, "0"),
        },
        {
          tagName: "docs-2222222",
          body: marked("2222222"),
          author: "pyci-test[bot]",
          targetCommitish: "2222222".padEnd(40, "0"),
        },
        {
          tagName: "docs-3333333",
          body: marked("3333333"),
          author: "pyci-test[bot]",
          targetCommitish: "3333333".padEnd(40, "0"),
        },
      ]);
      await publishDocsRelease(github, target(), await docs(Buffer.from("newest"), 2));
      expect(
        gh.releases
          .filter((r) => r.repo === REPO)
          .map((r) => r.tagName)
          .sort(),
      ).toEqual(["docs-3333333", "docs-abcdef0", "docs-handmade", "v1.0.0"]);
      expect(
        gh.tags
          .filter((t) => t.repo === REPO)
          .map((t) => t.name)
          .sort(),
      ).toEqual(["docs-3333333", "docs-abcdef0", "docs-handmade", "v1.0.0"]);
      expect(gh.release(OWNER, REPO, "v1.0.0")?.latest).toBe(true);
      const deletes = gh.requests.filter((r) => r.method === "DELETE").map((r) => `${r.path} → ${r.status}`);
      expect(deletes).toEqual([
        expect.stringMatching(/^\/repos\/acme\/widgets\/releases\/\d+ → 204$/),
        "/repos/acme/widgets/git/refs/tags%2Fdocs-2222222 → 204",
        expect.stringMatching(/^\/repos\/acme\/widgets\/releases\/\d+ → 204$/),
        "/repos/acme/widgets/git/refs/tags%2Fdocs-1111111 → 204",
      ]);
      expect(gh.violations).toEqual([]);
      expect(gh.unexpected).toEqual([]);
    });
  });
});
