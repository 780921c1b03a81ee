import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import nock from "nock";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DOCS_RELEASE_MARKER, publishDocsRelease } from "../../src/github/publish-docs-release.js";
import type { Octokit } from "../../src/github/types.js";
import { generateAppKey } from "../support/app-key.js";
import { UnthrottledOctokit } from "../support/unthrottled-octokit.js";

const API = "https://api.github.com";
const UPLOADS = "https://uploads.github.com";
const SHA = "abc1234def5678abc1234def5678abc1234def56";
const dir = mkdtempSync(join(tmpdir(), "pyci-rel-"));
const archivePath = join(dir, "docs-html.tar.gz");
writeFileSync(archivePath, Buffer.from("fake archive bytes"));
const archive = { name: "docs-html.tar.gz", path: archivePath, contentType: "application/gzip" };

let octokit: Octokit;
beforeAll(async () => {
  nock.disableNetConnect();
  const probot = new Probot({ appId: 1, privateKey: generateAppKey(), Octokit: UnthrottledOctokit, logLevel: "warn" });
  nock(API)
    .post("/app/installations/9/access_tokens")
    .reply(201, { token: "ghs_x", expires_at: new Date(Date.now() + 3_600_000).toISOString() });
  octokit = await probot.auth(9);
});
afterAll(() => {
  nock.enableNetConnect();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  nock.cleanAll();
});

interface FakeRelease {
  id: number;
  tag_name: string;
  target_commitish?: string;
  name: string;
  body: string;
  created_at: string;
  assets: { id: number; name: string }[];
}

/** GitHub's releases API for one repository, in memory, through nock. */
function fakeReleases(initial: FakeRelease[] = []) {
  const releases = [...initial];
  const calls: string[] = [];
  let nextId = 100;
  const log = (call: string) => calls.push(call);
  const view = (r: FakeRelease) => ({
    ...r,
    html_url: `https://github.com/o/r/releases/tag/${r.tag_name}`,
    upload_url: `${UPLOADS}/repos/o/r/releases/${r.id}/assets{?name,label}`,
  });
  nock(API)
    .persist()
    .post("/repos/o/r/releases")
    .reply((_, body: any) => {
      log(`create ${body.tag_name}`);
      if (releases.some((r) => r.tag_name === body.tag_name))
        return [
          422,
          {
            message: "Validation Failed",
            errors: [{ resource: "Release", code: "already_exists", field: "tag_name" }],
          },
        ];
      const release = {
        id: nextId++,
        tag_name: body.tag_name,
        target_commitish: body.target_commitish,
        name: body.name,
        body: body.body,
        created_at: new Date().toISOString(),
        assets: [],
      };
      releases.push(release);
      return [201, view(release)];
    })
    .get(/\/repos\/o\/r\/releases\/tags\/.+/)
    .reply((uri) => {
      const tag = decodeURIComponent(uri.split("/").pop()!);
      log(`get ${tag}`);
      const release = releases.find((r) => r.tag_name === tag);
      return release ? [200, view(release)] : [404, { message: "Not Found" }];
    })
    .patch(/\/repos\/o\/r\/releases\/\d+$/)
    .reply((uri, body: any) => {
      const release = releases.find((r) => r.id === Number(uri.split("/").pop()))!;
      log(`update ${release.tag_name}`);
      Object.assign(release, { name: body.name, body: body.body });
      return [200, view(release)];
    })
    .get(/\/repos\/o\/r\/releases\/\d+\/assets/)
    .reply((uri) => {
      const id = Number(/releases\/(\d+)\/assets/.exec(uri)![1]);
      return [200, releases.find((r) => r.id === id)!.assets];
    })
    .delete(/\/repos\/o\/r\/releases\/assets\/\d+$/)
    .reply((uri) => {
      const assetId = Number(uri.split("/").pop());
      log(`delete asset ${assetId}`);
      for (const r of releases) r.assets = r.assets.filter((a) => a.id !== assetId);
      return [204];
    })
    .get("/repos/o/r/releases")
    .query(true)
    .reply(() => [200, releases.map(view)])
    .delete(/\/repos\/o\/r\/releases\/\d+$/)
    .reply((uri) => {
      const id = Number(uri.split("/").pop());
      const index = releases.findIndex((r) => r.id === id);
      log(`delete release ${releases[index]!.tag_name}`);
      releases.splice(index, 1);
      return [204];
    })
    .delete(/\/repos\/o\/r\/git\/refs\/tags(%2F|\/).+/)
    .reply((uri) => {
      log(`delete ref ${decodeURIComponent(uri.split("/refs/")[1]!)}`);
      return [204];
    });
  nock(UPLOADS)
    .persist()
    .post(/\/repos\/o\/r\/releases\/\d+\/assets/)
    .query(true)
    .reply(function (uri) {
      const id = Number(/releases\/(\d+)\/assets/.exec(uri)![1]);
      const name = new URL(uri, UPLOADS).searchParams.get("name")!;
      const release = releases.find((r) => r.id === id)!;
      log(`upload ${name} (${this.req.headers["content-type"]}, ${this.req.headers["content-length"]} bytes)`);
      if (release.assets.some((a) => a.name === name))
        return [
          422,
          {
            message: "Validation Failed",
            errors: [{ resource: "ReleaseAsset", code: "already_exists", field: "name" }],
          },
        ];
      const asset = {
        id: nextId++,
        name,
        browser_download_url: `https://github.com/o/r/releases/download/${release.tag_name}/${name}`,
      };
      release.assets.push(asset);
      return [201, asset];
    });
  return { releases, calls };
}

const target = { owner: "o", repo: "r", sha: SHA };
const base = {
  prNumber: 7,
  prTitle: "Better **docs** <img src=x>",
  buildUrl: "https://ci.example.com/builds/xyz",
  archive,
  keep: 10,
};
const github = () => ({ octokit, log: { info() {}, debug() {}, warn() {}, error() {} } as any });

describe("publishDocsRelease", () => {
  it("creates a release at the merge commit that never becomes latest, and uploads the archive", async () => {
    let created: any;
    nock(API)
      .post("/repos/o/r/releases", (body) => ((created = body), true))
      .reply(201, {
        id: 1,
        target_commitish: SHA,
        upload_url: `${UPLOADS}/repos/o/r/releases/1/assets{?name,label}`,
        html_url: "https://github.com/o/r/releases/tag/docs-abc1234",
      });
    nock(API).get("/repos/o/r/releases/1/assets").query(true).reply(200, []);
    let uploaded: { type?: string; length?: string; name?: string | null } = {};
    nock(UPLOADS)
      .post("/repos/o/r/releases/1/assets")
      .query({ name: "docs-html.tar.gz" })
      .reply(function () {
        uploaded = { type: this.req.headers["content-type"], length: this.req.headers["content-length"] };
        return [
          201,
          {
            id: 5,
            name: "docs-html.tar.gz",
            browser_download_url: "https://github.com/o/r/releases/download/docs-abc1234/docs-html.tar.gz",
          },
        ];
      });
    nock(API).get("/repos/o/r/releases").query(true).reply(200, []);

    const published = await publishDocsRelease(github(), target, base);
    expect(nock.pendingMocks()).toEqual([]);
    expect(created).toMatchObject({
      tag_name: "docs-abc1234",
      target_commitish: SHA,
      make_latest: "false",
      draft: false,
      prerelease: false,
      name: "Documentation build abc1234",
    });
    // the title is the pull request author's text: it reads as written, with no Markdown or HTML of its own
    expect(created.body).toContain("pull request #7 (Better \\*\\*docs\\*\\* \\<img src=x\\>)");
    expect(created.body).toContain("https://ci.example.com/builds/xyz");
    expect(created.body).toContain(DOCS_RELEASE_MARKER);
    expect(uploaded).toEqual({ type: "application/gzip", length: String("fake archive bytes".length) });
    expect(published).toEqual({
      tag: "docs-abc1234",
      releaseId: 1,
      htmlUrl: "https://github.com/o/r/releases/tag/docs-abc1234",
      assetUrl: "https://github.com/o/r/releases/download/docs-abc1234/docs-html.tar.gz",
    });
  });

  it("reuses the release of an existing tag and replaces the asset of the same name (redelivery)", async () => {
    const { releases, calls } = fakeReleases();
    await publishDocsRelease(github(), target, base);
    await publishDocsRelease(github(), target, { ...base, prTitle: "Better docs, again" });
    expect(releases).toHaveLength(1);
    expect(releases[0]!.assets.map((a) => a.name)).toEqual(["docs-html.tar.gz"]);
    expect(releases[0]!.body).toContain("Better docs, again");
    expect(calls).toEqual([
      "create docs-abc1234",
      "upload docs-html.tar.gz (application/gzip, 18 bytes)",
      "create docs-abc1234",
      "get docs-abc1234",
      "update docs-abc1234",
      `delete asset ${releases[0]!.assets[0]!.id - 1}`,
      "upload docs-html.tar.gz (application/gzip, 18 bytes)",
    ]);
  });

  it("leaves exactly one release with one asset when two deliveries of the same merge race", async () => {
    const { releases } = fakeReleases();
    await Promise.all([publishDocsRelease(github(), target, base), publishDocsRelease(github(), target, base)]);
    expect(releases).toHaveLength(1);
    expect(releases[0]!.assets).toHaveLength(1);
  });

  it("gives a merge whose short sha collides with another merge's docs release a longer tag", async () => {
    const other = `abc1234${"0".repeat(33)}`;
    const { releases } = fakeReleases([
      {
        id: 1,
        tag_name: "docs-abc1234",
        target_commitish: other,
        name: "Documentation build abc1234",
        body: `other ${DOCS_RELEASE_MARKER}`,
        created_at: "2026-01-01T00:00:00Z",
        assets: [],
      },
    ]);
    const published = await publishDocsRelease(github(), target, base);
    expect(published.tag).toBe(`docs-${SHA.slice(0, 12)}`);
    expect(releases.find((r) => r.tag_name === "docs-abc1234")!.body).toBe(`other ${DOCS_RELEASE_MARKER}`);
  });

  it("refuses to touch a tag whose release pyci did not create", async () => {
    const { releases, calls } = fakeReleases([
      {
        id: 1,
        tag_name: "docs-abc1234",
        name: "Hand-made",
        body: "mine",
        created_at: "2026-01-01T00:00:00Z",
        assets: [],
      },
    ]);
    await expect(publishDocsRelease(github(), target, base)).rejects.toThrow(/did not create/);
    expect(releases[0]!.body).toBe("mine");
    expect(calls).toEqual(["create docs-abc1234", "get docs-abc1234"]);
  });

  it("keeps at most `keep` docs releases, deleting only the oldest ones it created, with their tags", async () => {
    const ours = Array.from({ length: 11 }, (_, i) => ({
      id: i + 1,
      tag_name: `docs-${String(i).padStart(7, "0")}`,
      name: "Documentation build",
      body: `old ${DOCS_RELEASE_MARKER}`,
      created_at: new Date(Date.UTC(2026, 0, i + 1)).toISOString(),
      assets: [],
    }));
    const theirs = [
      {
        id: 50,
        tag_name: "v1.0.0",
        name: "1.0",
        body: "A real release",
        created_at: "2025-01-01T00:00:00Z",
        assets: [],
      },
      {
        id: 51,
        tag_name: "docs-handmade",
        name: "Docs by hand",
        body: "not ours",
        created_at: "2025-01-02T00:00:00Z",
        assets: [],
      },
    ];
    const { releases, calls } = fakeReleases([...ours, ...theirs]);
    await publishDocsRelease(github(), target, { ...base, keep: 10 });
    const tags = releases.map((r) => r.tag_name);
    expect(tags).toContain("v1.0.0");
    expect(tags).toContain("docs-handmade");
    expect(tags).toContain("docs-abc1234");
    expect(tags.filter((t) => t.startsWith("docs-") && t !== "docs-handmade")).toHaveLength(10);
    expect(calls.filter((c) => c.startsWith("delete release")).sort()).toEqual([
      "delete release docs-0000000",
      "delete release docs-0000001",
    ]);
    expect(calls).toContain("delete ref tags/docs-0000000");
    expect(calls).toContain("delete ref tags/docs-0000001");
  });
});
