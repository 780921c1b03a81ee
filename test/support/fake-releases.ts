import { createHash } from "node:crypto";
import type { Ctx, Reply, Route } from "./fake-github-route.js";
import type { RuleResult } from "./github-rules.js";

export interface FakeUser {
  login: string;
  type: "User" | "Bot";
}

export interface FakeReleaseAsset {
  id: number;
  /** The name GitHub stored (special characters replaced, as GitHub does; see sanitizeAssetName). */
  name: string;
  label: string | null;
  contentType: string;
  size: number;
  data: Buffer;
  state: "uploaded";
  createdAt: string;
  updatedAt: string;
  uploader: FakeUser;
}

export interface FakeRelease {
  id: number;
  owner: string;
  repo: string;
  tagName: string;
  targetCommitish: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  /** Whether this is the repository's "Latest" release (GET /releases/latest); at most one per repository. */
  latest: boolean;
  createdAt: string;
  publishedAt: string | null;
  updatedAt: string;
  author: FakeUser;
  /** In upload order. */
  assets: FakeReleaseAsset[];
}

/** A Git tag (refs/tags/<name>); published releases create theirs, DELETE /git/refs/tags/<name> removes it. */
export interface FakeTag {
  owner: string;
  repo: string;
  name: string;
  sha: string;
}

export interface FakeReleaseSeed {
  tagName: string;
  name?: string | null;
  body?: string | null;
  /** Default "main". A 40-hex SHA becomes the tag's commit. */
  targetCommitish?: string;
  draft?: boolean;
  prerelease?: boolean;
  /** Make it the repository's latest release. Default false. */
  latest?: boolean;
  /** Default: one minute apart in list order (the first is the oldest), the last one an hour ago. */
  createdAt?: string | Date;
  /** Login of the author; default "octocat". A login ending in `[bot]` is a Bot. */
  author?: string;
  assets?: { name: string; data: Buffer | string; contentType?: string; label?: string }[];
}

/** What the release routes need from the fake server they run in. */
export interface ReleaseHost {
  /** `http://127.0.0.1:PORT` (known once the server listens). */
  origin(): string;
  nextId(): number;
  violation(ctx: Ctx, message: string): void;
  notFound(ctx: Ctx): Reply;
  /** Validates ctx.body against the operation's schema and the rules; the 422 to send, if any. */
  validate(ctx: Ctx, resource: string): Reply | undefined;
  installationAuth(ctx: Ctx): Reply | undefined;
  /** The repository's numeric id (GitHub's Link headers point at /repositories/:id/…). */
  repoId(owner: string, repo: string): number;
  /** The app's bot user: the author of what an installation token creates. */
  bot(): FakeUser;
}

export interface ReleaseStore {
  releases: FakeRelease[];
  tags: FakeTag[];
  routes: Route[];
  setReleases(owner: string, repo: string, list: FakeReleaseSeed[]): FakeRelease[];
  release(owner: string, repo: string, tag: string): FakeRelease | undefined;
  asset(owner: string, repo: string, tag: string, name: string): Buffer | undefined;
}

const REST = "/api/v3";
const UPLOADS = "/api/uploads";
const MAKE_LATEST = ["true", "false", "legacy"];
const RELEASE_BODY_MAX = 125_000;
const DEFAULT_PER_PAGE = 30;
const MAX_PER_PAGE = 100;
const OWNER_REPO = "([^/]+)\\/([^/]+)";

interface ReleaseBody {
  tag_name?: string;
  target_commitish?: string;
  name?: string;
  body?: string;
  draft?: boolean;
  prerelease?: boolean;
  make_latest?: string;
}

/**
 * GitHub's Releases API for the fake: releases, their assets (uploaded raw through `/api/uploads`, as on
 * GitHub Enterprise Server), the tags they create, and `browser_download_url` downloads.
 */
export function createReleaseStore(host: ReleaseHost): ReleaseStore {
  const releases: FakeRelease[] = [];
  const tags: FakeTag[] = [];

  const same = (x: { owner: string; repo: string }, owner: string, repo: string) =>
    x.owner.toLowerCase() === owner.toLowerCase() && x.repo.toLowerCase() === repo.toLowerCase();
  /** The repository's releases, newest first (GitHub's order for GET /releases). */
  const releasesOf = (owner: string, repo: string) =>
    releases
      .filter((r) => same(r, owner, repo))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
  const byId = (owner: string, repo: string, id: string | number) =>
    releases.find((r) => r.id === Number(id) && same(r, owner, repo));
  const published = (owner: string, repo: string, tag: string) =>
    releasesOf(owner, repo).find((r) => r.tagName === tag && !r.draft);
  const findTag = (owner: string, repo: string, name: string) =>
    tags.find((t) => t.name === name && same(t, owner, repo));
  const findAsset = (owner: string, repo: string, id: string | number) => {
    for (const release of releasesOf(owner, repo)) {
      const asset = release.assets.find((a) => a.id === Number(id));
      if (asset) return { release, asset };
    }
    return undefined;
  };

  /** Creates the tag a published release needs; an existing tag is kept (GitHub ignores target_commitish then). */
  const ensureTag = (release: FakeRelease) => {
    if (findTag(release.owner, release.repo, release.tagName)) return;
    tags.push({
      owner: release.owner,
      repo: release.repo,
      name: release.tagName,
      sha: commitFor(release.targetCommitish),
    });
  };

  const setLatest = (release: FakeRelease, mode: string | undefined) => {
    if (release.draft || release.prerelease || mode === undefined) {
      if (release.draft || release.prerelease) release.latest = false;
      return;
    }
    if (mode === "false") {
      release.latest = false;
      return;
    }
    if (mode === "legacy") {
      const newest = releasesOf(release.owner, release.repo).find((r) => !r.draft && !r.prerelease);
      if (newest !== release) return;
    }
    for (const r of releases) if (same(r, release.owner, release.repo)) r.latest = false;
    release.latest = true;
  };

  const api = (owner: string, repo: string) => `${host.origin()}${REST}/repos/${owner}/${repo}`;

  /** GitHub's simple-user shape. */
  const userView = (u: FakeUser) => {
    const id =
      u.type === "Bot"
        ? 2
        : 10 + (parseInt(createHash("sha1").update(u.login).digest("hex").slice(0, 6), 16) % 100_000);
    const url = `${host.origin()}${REST}/users/${encodeURIComponent(u.login)}`;
    return {
      login: u.login,
      id,
      node_id: Buffer.from(`${u.type}${id}`).toString("base64"),
      avatar_url: `${host.origin()}/avatars/u/${id}`,
      gravatar_id: "",
      url,
      html_url: `${host.origin()}/${u.type === "Bot" ? `apps/${u.login.replace(/\[bot\]$/, "")}` : u.login}`,
      followers_url: `${url}/followers`,
      following_url: `${url}/following{/other_user}`,
      gists_url: `${url}/gists{/gist_id}`,
      starred_url: `${url}/starred{/owner}{/repo}`,
      subscriptions_url: `${url}/subscriptions`,
      organizations_url: `${url}/orgs`,
      repos_url: `${url}/repos`,
      events_url: `${url}/events{/privacy}`,
      received_events_url: `${url}/received_events`,
      type: u.type,
      site_admin: false,
    };
  };

  const assetView = (release: FakeRelease, a: FakeReleaseAsset) => ({
    url: `${api(release.owner, release.repo)}/releases/assets/${a.id}`,
    browser_download_url: downloadUrl(release, a.name),
    id: a.id,
    node_id: Buffer.from(`ReleaseAsset${a.id}`).toString("base64"),
    name: a.name,
    label: a.label,
    state: a.state,
    content_type: a.contentType,
    size: a.size,
    digest: `sha256:${createHash("sha256").update(a.data).digest("hex")}`,
    download_count: 0,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
    uploader: userView(a.uploader),
  });

  const downloadUrl = (release: FakeRelease, name: string) =>
    `${host.origin()}/${release.owner}/${release.repo}/releases/download/${encodeURIComponent(release.tagName)}/${encodeURIComponent(name)}`;

  const releaseView = (r: FakeRelease) => {
    const url = `${api(r.owner, r.repo)}/releases/${r.id}`;
    const htmlTag = r.draft
      ? `untagged-${createHash("sha1").update(String(r.id)).digest("hex").slice(0, 20)}`
      : encodeURIComponent(r.tagName);
    return {
      url,
      html_url: `${host.origin()}/${r.owner}/${r.repo}/releases/tag/${htmlTag}`,
      assets_url: `${url}/assets`,
      upload_url: `${host.origin()}${UPLOADS}/repos/${r.owner}/${r.repo}/releases/${r.id}/assets{?name,label}`,
      tarball_url: r.draft ? null : `${api(r.owner, r.repo)}/tarball/${encodeURIComponent(r.tagName)}`,
      zipball_url: r.draft ? null : `${api(r.owner, r.repo)}/zipball/${encodeURIComponent(r.tagName)}`,
      id: r.id,
      node_id: Buffer.from(`Release${r.id}`).toString("base64"),
      tag_name: r.tagName,
      target_commitish: r.targetCommitish,
      name: r.name,
      body: r.body,
      draft: r.draft,
      prerelease: r.prerelease,
      immutable: false,
      created_at: r.createdAt,
      published_at: r.publishedAt,
      updated_at: r.updatedAt,
      author: userView(r.author),
      assets: r.assets.map((a) => assetView(r, a)),
    };
  };

  /** One page of `items`, with GitHub's Link header (absolute /repositories/:id/… URLs). */
  const paginate = <T>(ctx: Ctx, items: T[], linkPath: string, view: (item: T) => unknown): Reply => {
    const perPage = Math.min(positiveInt(ctx.query.per_page) ?? DEFAULT_PER_PAGE, MAX_PER_PAGE);
    const page = positiveInt(ctx.query.page) ?? 1;
    const last = Math.max(1, Math.ceil(items.length / perPage));
    const link = (n: number) => {
      const params = new URLSearchParams(ctx.query);
      params.delete("page");
      params.set("page", String(n));
      return `<${host.origin()}${REST}${linkPath}?${params.toString()}>`;
    };
    const rels: string[] = [];
    if (page > 1) rels.push(`${link(Math.min(page - 1, last))}; rel="prev"`);
    if (page < last) rels.push(`${link(page + 1)}; rel="next"`, `${link(last)}; rel="last"`);
    if (page > 1) rels.push(`${link(1)}; rel="first"`);
    return {
      status: 200,
      body: items.slice((page - 1) * perPage, page * perPage).map(view),
      ...(rels.length > 0 ? { headers: { link: rels.join(", ") } } : {}),
    };
  };

  const validationFailed = (ctx: Ctx, resource: string, code: string, field: string): Reply => ({
    status: 422,
    body: {
      message: "Validation Failed",
      errors: [{ resource, code, field }],
      documentation_url: ctx.op?.documentationUrl ?? "https://docs.github.com/rest/releases",
      status: "422",
    },
  });

  /** PATCH /releases/:id may come without a body (every field is optional). */
  const withBody = (ctx: Ctx): Ctx =>
    ctx.body === undefined && ctx.rawBytes.length === 0 ? { ...ctx, body: {} } : ctx;

  const repo = (pattern: string) => new RegExp(`^\\/repos\\/${OWNER_REPO}${pattern}$`);

  const routes: Route[] = [
    {
      method: "POST",
      pattern: repo("\\/releases"),
      handle: (ctx, [, owner, repoName]) => {
        const denied = host.installationAuth(ctx) ?? host.validate(ctx, "Release");
        if (denied) return denied;
        const b = ctx.body as ReleaseBody;
        const tagName = b.tag_name!;
        if (published(owner!, repoName!, tagName))
          return validationFailed(ctx, "Release", "already_exists", "tag_name");
        const at = now();
        const release: FakeRelease = {
          id: host.nextId(),
          owner: owner!,
          repo: repoName!,
          tagName,
          targetCommitish: b.target_commitish ?? "main",
          name: b.name ?? null,
          body: b.body ?? null,
          draft: b.draft === true,
          prerelease: b.prerelease === true,
          latest: false,
          createdAt: at,
          publishedAt: b.draft === true ? null : at,
          updatedAt: at,
          author: host.bot(),
          assets: [],
        };
        releases.push(release);
        if (!release.draft) ensureTag(release);
        setLatest(release, b.make_latest ?? "true");
        const view = releaseView(release);
        return { status: 201, body: view, headers: { location: view.url } };
      },
    },
    {
      method: "GET",
      pattern: repo("\\/releases"),
      handle: (ctx, [, owner, repoName]) =>
        host.installationAuth(ctx) ??
        paginate(
          ctx,
          releasesOf(owner!, repoName!),
          `/repositories/${host.repoId(owner!, repoName!)}/releases`,
          releaseView,
        ),
    },
    {
      method: "GET",
      pattern: repo("\\/releases\\/latest"),
      handle: (ctx, [, owner, repoName]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const latest = releasesOf(owner!, repoName!).find((r) => r.latest);
        return latest ? { status: 200, body: releaseView(latest) } : host.notFound(ctx);
      },
    },
    {
      method: "GET",
      pattern: repo("\\/releases\\/tags\\/(.+)"),
      handle: (ctx, [, owner, repoName, tag]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        // "Get a published release with the specified tag": drafts are not found by tag.
        const release = published(owner!, repoName!, decodeURIComponent(tag!));
        return release ? { status: 200, body: releaseView(release) } : host.notFound(ctx);
      },
    },
    {
      method: "GET",
      pattern: repo("\\/releases\\/(\\d+)"),
      handle: (ctx, [, owner, repoName, id]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const release = byId(owner!, repoName!, id!);
        return release ? { status: 200, body: releaseView(release) } : host.notFound(ctx);
      },
    },
    {
      method: "PATCH",
      pattern: repo("\\/releases\\/(\\d+)"),
      handle: (raw, [, owner, repoName, id]) => {
        const ctx = withBody(raw);
        const denied = host.installationAuth(ctx) ?? host.validate(ctx, "Release");
        if (denied) return denied;
        const release = byId(owner!, repoName!, id!);
        if (!release) return host.notFound(ctx);
        const b = ctx.body as ReleaseBody;
        if (b.tag_name !== undefined && b.tag_name !== release.tagName) {
          const other = published(owner!, repoName!, b.tag_name);
          if (other && other !== release) return validationFailed(ctx, "Release", "already_exists", "tag_name");
          release.tagName = b.tag_name;
        }
        if (b.target_commitish !== undefined) release.targetCommitish = b.target_commitish;
        if (b.name !== undefined) release.name = b.name;
        if (b.body !== undefined) release.body = b.body;
        if (b.prerelease !== undefined) release.prerelease = b.prerelease;
        let publishing = false;
        if (b.draft === false && release.draft) {
          publishing = true;
          release.draft = false;
          release.publishedAt = now();
        } else if (b.draft === true && !release.draft) {
          release.draft = true;
          release.publishedAt = null;
        }
        if (!release.draft) ensureTag(release);
        // make_latest defaults to "true" only for a release being published now.
        setLatest(release, b.make_latest ?? (publishing ? "true" : undefined));
        release.updatedAt = now();
        return { status: 200, body: releaseView(release) };
      },
    },
    {
      method: "DELETE",
      pattern: repo("\\/releases\\/(\\d+)"),
      handle: (ctx, [, owner, repoName, id]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const release = byId(owner!, repoName!, id!);
        if (!release) return host.notFound(ctx);
        // The tag stays: deleting a release never deletes its Git tag.
        releases.splice(releases.indexOf(release), 1);
        return { status: 204 };
      },
    },
    {
      method: "GET",
      pattern: repo("\\/releases\\/(\\d+)\\/assets"),
      handle: (ctx, [, owner, repoName, id]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const release = byId(owner!, repoName!, id!);
        if (!release) return host.notFound(ctx);
        return paginate(
          ctx,
          release.assets,
          `/repositories/${host.repoId(owner!, repoName!)}/releases/${release.id}/assets`,
          (a) => assetView(release, a),
        );
      },
    },
    {
      method: "GET",
      pattern: repo("\\/releases\\/assets\\/(\\d+)"),
      handle: (ctx, [, owner, repoName, id]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const found = findAsset(owner!, repoName!, id!);
        if (!found) return host.notFound(ctx);
        if (/application\/octet-stream/.test(String(ctx.headers.accept))) {
          // GitHub redirects to the file's storage location.
          return { status: 302, headers: { location: downloadUrl(found.release, found.asset.name) }, text: "" };
        }
        return { status: 200, body: assetView(found.release, found.asset) };
      },
    },
    {
      method: "DELETE",
      pattern: repo("\\/releases\\/assets\\/(\\d+)"),
      handle: (ctx, [, owner, repoName, id]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const found = findAsset(owner!, repoName!, id!);
        if (!found) return host.notFound(ctx);
        found.release.assets.splice(found.release.assets.indexOf(found.asset), 1);
        return { status: 204 };
      },
    },
    {
      method: "GET",
      pattern: repo("\\/git\\/ref\\/(.+)"),
      handle: (ctx, [, owner, repoName, rawRef]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const ref = decodeURIComponent(rawRef!);
        const tag = ref.startsWith("tags/") ? findTag(owner!, repoName!, ref.slice("tags/".length)) : undefined;
        if (!tag) return host.notFound(ctx);
        return {
          status: 200,
          body: {
            ref: `refs/${ref}`,
            node_id: Buffer.from(`Ref:refs/${ref}`).toString("base64"),
            url: `${api(owner!, repoName!)}/git/refs/${ref}`,
            object: { sha: tag.sha, type: "commit", url: `${api(owner!, repoName!)}/git/commits/${tag.sha}` },
          },
        };
      },
    },
    {
      method: "DELETE",
      // Octokit sends `tags%2Fname` (it encodes the slash); GitHub also takes `tags/name`.
      pattern: repo("\\/git\\/refs\\/(.+)"),
      handle: (ctx, [, owner, repoName, rawRef]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const ref = decodeURIComponent(rawRef!);
        const gone: Reply = {
          status: 422,
          body: {
            message: "Reference does not exist",
            documentation_url: "https://docs.github.com/rest/git/refs#delete-a-reference",
            status: "422",
          },
        };
        if (ref.startsWith("refs/")) {
          host.violation(
            ctx,
            `ref ${JSON.stringify(ref)} starts with refs/: GitHub looks up refs/${ref} and answers 422 (pass "tags/<name>")`,
          );
          return gone;
        }
        if (!ref.startsWith("tags/")) {
          host.violation(
            ctx,
            `deleting ${JSON.stringify(ref)}: the fake only models tags, and pyci should delete nothing else`,
          );
          return gone;
        }
        const tag = findTag(owner!, repoName!, ref.slice("tags/".length));
        if (!tag) return gone;
        tags.splice(tags.indexOf(tag), 1);
        // A published release whose tag is deleted turns into a draft on GitHub.
        for (const r of releases) {
          if (same(r, owner!, repoName!) && r.tagName === tag.name && !r.draft) {
            r.draft = true;
            r.latest = false;
            r.publishedAt = null;
          }
        }
        return { status: 204 };
      },
    },
    {
      api: "uploads",
      method: "POST",
      pattern: repo("\\/releases\\/(\\d+)\\/assets"),
      handle: (ctx, [, owner, repoName, id]) => {
        const denied = host.installationAuth(ctx);
        if (denied) return denied;
        const release = byId(owner!, repoName!, id!);
        if (!release) return host.notFound(ctx);
        const requested = ctx.query.name;
        if (!requested) {
          host.violation(ctx, "upload without ?name=");
          return validationFailed(ctx, "ReleaseAsset", "missing_field", "name");
        }
        const contentType = ctx.headers["content-type"];
        if (!contentType) {
          host.violation(ctx, "upload without Content-Type");
          return validationFailed(ctx, "ReleaseAsset", "missing_field", "content_type");
        }
        if (ctx.headers["content-length"] === undefined) {
          host.violation(ctx, "upload without Content-Length (GitHub needs it; chunked uploads are refused)");
          return { status: 411, body: { message: "Length Required", status: "411" } };
        }
        if (/^\{"type":"Buffer","data":\[/.test(ctx.rawBytes.subarray(0, 32).toString("latin1"))) {
          host.violation(ctx, "the asset is a JSON-serialized Buffer, not the raw bytes");
        }
        const name = sanitizeAssetName(requested);
        if (name !== requested) {
          host.violation(
            ctx,
            `GitHub stores the asset ${JSON.stringify(requested)} as ${JSON.stringify(name)}: look it up by that name (GitHub accepts this)`,
          );
        }
        if (release.assets.some((a) => a.name === name))
          return validationFailed(ctx, "ReleaseAsset", "already_exists", "name");
        const at = now();
        const asset: FakeReleaseAsset = {
          id: host.nextId(),
          name,
          label: ctx.query.label ?? null,
          contentType,
          size: ctx.rawBytes.length,
          data: Buffer.from(ctx.rawBytes),
          state: "uploaded",
          createdAt: at,
          updatedAt: at,
          uploader: host.bot(),
        };
        release.assets.push(asset);
        return { status: 201, body: assetView(release, asset) };
      },
    },
    {
      api: "web",
      method: "GET",
      pattern: new RegExp(`^\\/${OWNER_REPO}\\/releases\\/download\\/([^/]+)\\/([^/]+)$`),
      handle: (_ctx, [, owner, repoName, tag, name]) => {
        const release = published(owner!, repoName!, decodeURIComponent(tag!));
        const asset = release?.assets.find((a) => a.name === decodeURIComponent(name!));
        if (!asset) return { status: 404, text: "Not Found", contentType: "text/plain; charset=utf-8" };
        return { status: 200, raw: asset.data, contentType: "application/octet-stream" };
      },
    },
  ];

  return {
    releases,
    tags,
    routes,
    setReleases(owner, repoName, list) {
      for (let i = releases.length - 1; i >= 0; i--) if (same(releases[i]!, owner, repoName)) releases.splice(i, 1);
      for (let i = tags.length - 1; i >= 0; i--) if (same(tags[i]!, owner, repoName)) tags.splice(i, 1);
      const base = Date.now() - 3600_000 - (list.length - 1) * 60_000;
      const seeded = list.map((seed, i): FakeRelease => {
        const created = seed.createdAt === undefined ? new Date(base + i * 60_000) : new Date(seed.createdAt);
        const at = created.toISOString().replace(/\.\d{3}Z$/, "Z");
        const login = seed.author ?? "octocat";
        const author: FakeUser = { login, type: login.endsWith("[bot]") ? "Bot" : "User" };
        const release: FakeRelease = {
          id: host.nextId(),
          owner,
          repo: repoName,
          tagName: seed.tagName,
          targetCommitish: seed.targetCommitish ?? "main",
          name: seed.name === undefined ? seed.tagName : seed.name,
          body: seed.body ?? null,
          draft: seed.draft === true,
          prerelease: seed.prerelease === true,
          latest: false,
          createdAt: at,
          publishedAt: seed.draft === true ? null : at,
          updatedAt: at,
          author,
          assets: [],
        };
        for (const a of seed.assets ?? []) {
          const data = Buffer.isBuffer(a.data) ? a.data : Buffer.from(a.data);
          release.assets.push({
            id: host.nextId(),
            name: a.name,
            label: a.label ?? null,
            contentType: a.contentType ?? "application/octet-stream",
            size: data.length,
            data,
            state: "uploaded",
            createdAt: at,
            updatedAt: at,
            uploader: author,
          });
        }
        releases.push(release);
        if (!release.draft) ensureTag(release);
        if (seed.latest) setLatest(release, "true");
        return release;
      });
      return seeded;
    },
    release(owner, repoName, tag) {
      return releasesOf(owner, repoName).find((r) => r.tagName === tag);
    },
    asset(owner, repoName, tag, name) {
      return releasesOf(owner, repoName)
        .find((r) => r.tagName === tag && r.assets.some((a) => a.name === name))
        ?.assets.find((a) => a.name === name)?.data;
    },
  };
}

/**
 * GitHub's rules for create/update release that its OpenAPI description leaves in prose:
 * make_latest is the STRING "true" | "false" | "legacy"; tag_name must be a valid Git tag name;
 * the body is at most 125000 characters.
 */
export function releaseRules(operationId: string, body: unknown): RuleResult {
  const result: RuleResult = { errors: [], lint: [] };
  if (operationId !== "repos/create-release" && operationId !== "repos/update-release") return result;
  if (typeof body !== "object" || body === null || Array.isArray(body)) return result;
  const b = body as Record<string, unknown>;
  if (b.make_latest !== undefined && !MAKE_LATEST.includes(b.make_latest as string)) {
    result.errors.push({
      field: "make_latest",
      message: `make_latest must be one of the strings "true", "false", "legacy", got ${JSON.stringify(b.make_latest)}`,
    });
  }
  if (typeof b.tag_name === "string" && !isValidTagName(b.tag_name)) {
    result.errors.push({ field: "tag_name", message: `tag_name is not a valid tag: ${JSON.stringify(b.tag_name)}` });
  }
  if (typeof b.body === "string" && [...b.body].length > RELEASE_BODY_MAX) {
    result.errors.push({ field: "body", message: `body is too long (maximum is ${RELEASE_BODY_MAX} characters)` });
  }
  if (b.make_latest === "true" && (b.draft === true || b.prerelease === true)) {
    result.lint.push({
      field: "make_latest",
      message: 'drafts and prereleases cannot be set as latest: make_latest "true" is ignored',
    });
  }
  return result;
}

/** `git check-ref-format` for refs/tags/<name>. */
export function isValidTagName(name: string): boolean {
  if (name === "" || name === "@") return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  if (name.includes("..") || name.includes("@{")) return false;
  if (name.endsWith(".")) return false;
  return name.split("/").every((part) => part !== "" && !part.startsWith(".") && !part.endsWith(".lock"));
}

/**
 * How GitHub renames an uploaded asset (approximation): characters other than letters, digits and
 * `._-+` become ".", and leading/trailing periods go.
 */
export function sanitizeAssetName(name: string): string {
  return name.replace(/[^A-Za-z0-9._+-]/g, ".").replace(/^\.+|\.+$/g, "") || "default";
}

function commitFor(commitish: string): string {
  return /^[0-9a-f]{40}$/.test(commitish) ? commitish : createHash("sha1").update(`branch:${commitish}`).digest("hex");
}

function positiveInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 1 ? n : undefined;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}
