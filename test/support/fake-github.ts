import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Ctx, FakeApi, Reply, Route } from "./fake-github-route.js";
import {
  createReleaseStore,
  releaseRules,
  type FakeRelease,
  type FakeReleaseSeed,
  type FakeTag,
} from "./fake-releases.js";
import { githubRules } from "./github-rules.js";
import { loadOpenApiSpec, type OpenApiSpecName } from "./openapi-spec.js";
import { validateSchema, type SchemaIssue } from "./validate-schema.js";

export type { FakeApi } from "./fake-github-route.js";
export type { FakeRelease, FakeReleaseAsset, FakeReleaseSeed, FakeTag, FakeUser } from "./fake-releases.js";

export interface RecordedRequest {
  /** `rest` (`/api/v3/…`), `uploads` (`/api/uploads/…`, release assets) or `web` (anything else). */
  api: FakeApi;
  method: string;
  /**
   * Path after the api's prefix (`/api/v3` or `/api/uploads`), without the query: `/repos/o/r/statuses/<sha>`;
   * the whole path for `web`.
   */
  path: string;
  /** The request target as received: `/api/v3/repos/o/r/contents/x?ref=main`. */
  url: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body; undefined when there was none, it did not parse, or it is not JSON (uploads, web). */
  body: unknown;
  /** The body as UTF-8 text; "" for uploads (binary: see rawBytes). */
  rawBody: string;
  /** The body exactly as received. */
  rawBytes: Buffer;
  /** GitHub's operationId for the path, when GitHub's OpenAPI description has one. */
  operationId: string | undefined;
  status: number;
  response: unknown;
  /** True when the fake has no route for it (answered 404). */
  unexpected: boolean;
  at: Date;
}

export interface IssuedToken {
  token: string;
  installationId: number;
  expiresAt: string;
}

export interface CheckRunRecord {
  id: number;
  owner: string;
  repo: string;
  /** The run as it stands after all PATCHes (latest value of each field). */
  fields: Record<string, unknown>;
  /** Every annotation sent, in order: PATCHes append, as on GitHub. */
  annotations: Record<string, unknown>[];
  /** Each request body, the create first. */
  history: Record<string, unknown>[];
}

export interface StatusRecord {
  id: number;
  owner: string;
  repo: string;
  sha: string;
  body: Record<string, unknown>;
  createdAt: string;
}

/** The last status a commit got for `context`: what GitHub shows. */
export function latestStatus(statuses: StatusRecord[], sha: string, context: string): StatusRecord | undefined {
  return statuses.filter((s) => s.sha === sha && s.body.context === context).at(-1);
}

export interface FakeGitHubOptions {
  /** The App ID the JWT's `iss` must carry. Default: any. */
  appId?: number | string;
  /** The app's private key: when given, JWT signatures are verified against it. */
  privateKey?: string;
  /** Which of @octokit/openapi's descriptions bodies are validated against. Default api.github.com. */
  spec?: OpenApiSpecName;
  /** Permissions reported for installation tokens. Default: pyci's app.yml permissions. */
  permissions?: Record<string, string>;
  /** Tokens accepted on repository routes besides the issued ones (a GitHub Actions job's GITHUB_TOKEN). */
  acceptTokens?: string[];
  /** The accounts the App is installed on (GET /app/installations), by installation id. Default: { 1: "acme" }. */
  installations?: Record<number, string>;
}

/** The App a manifest's conversion returns: start the fake with the same appId and privateKey to accept its JWTs. */
export interface ManifestApp {
  id: number;
  privateKey: string;
  webhookSecret: string;
}

export interface FailureInjection {
  method: string;
  /** Matched against the path after `/api/v3` or `/api/uploads` (string = exact match). */
  path: string | RegExp;
  status: number;
  body?: unknown;
  /** How many matching requests fail. Default 1. */
  times?: number;
  /** Response headers; they win over the fake's defaults (`retry-after`, `x-ratelimit-remaining: 0`, `x-ratelimit-reset`). */
  headers?: Record<string, string>;
}

export interface HoldInjection {
  method: string;
  /** Matched against the path after `/api/v3` or `/api/uploads` (string = exact match). */
  path: string | RegExp;
  /** How many matching requests are held. Default 1. */
  times?: number;
}

/** Requests the fake received and has not answered yet (see holdNext). */
export interface HeldRequests {
  /** How many matching requests have arrived (and are held, or were released). */
  arrived(): number;
  /** Resolves once `count` (default 1) matching requests have arrived. */
  waitForArrival(count?: number): Promise<void>;
  /** Answers the held requests (and lets later matching ones through): handled normally, as if just received. */
  release(): void;
}

export interface FakeGitHub {
  /** `127.0.0.1:PORT`: use as GHE_HOST (with GHE_PROTOCOL=http). */
  host: string;
  /** `http://127.0.0.1:PORT/api/v3`: Octokit's baseUrl. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Requests no route answered (404). */
  unexpected: RecordedRequest[];
  /** Every broken rule: invalid bodies (answered 422), bad credentials (401), and lint (answered normally). */
  violations: string[];
  issuedTokens: IssuedToken[];
  statuses: StatusRecord[];
  checkRuns: CheckRunRecord[];
  /** Every release of every repository (seeded or created), in creation order; assets hold the uploaded bytes. */
  releases: FakeRelease[];
  /** Git tags: a published release creates its tag; DELETE /git/refs/tags/<name> removes it. */
  tags: FakeTag[];
  /**
   * Replaces the releases and tags of owner/repo with `list` (e.g. a maintainer's `v1.0.0`, old docs releases).
   * Without createdAt, the list runs oldest first, one minute apart, the last one an hour ago.
   */
  setReleases(owner: string, repo: string, list: FakeReleaseSeed[]): FakeRelease[];
  /** The release of `tag` (drafts included). */
  release(owner: string, repo: string, tag: string): FakeRelease | undefined;
  /** The bytes of the asset `name` on the release of `tag`, as uploaded. */
  asset(owner: string, repo: string, tag: string, name: string): Buffer | undefined;
  /** Resolves once `pred(requests)` holds; rejects after timeoutMs (default 10 s) listing what arrived. */
  waitFor(pred: (requests: RecordedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Serves `text` at GET /repos/:owner/:repo/contents/:path (any ref); null removes it. */
  setContent(owner: string, repo: string, path: string, text: string | null): void;
  /** The next matching request(s) get `status` instead of being handled. */
  failNext(failure: FailureInjection): void;
  /** Forgets every failure failNext set up that has not happened yet: GitHub is back. */
  clearFailures(): void;
  /**
   * The next matching request(s) get no answer until `release()`: a GitHub that hangs (the client's
   * timeout ends it), or one request kept open to see what else arrives meanwhile. stop() drops
   * those still held, unanswered and unrecorded.
   */
  holdNext(hold: HoldInjection): HeldRequests;
  /**
   * What github.com does with a manifest posted to its "new App" page: records it (see `manifests`) and
   * returns the code it sends the browser back to the manifest's redirect_url with; POST
   * /app-manifests/{code}/conversions then answers (once) with this App and its credentials.
   */
  createAppFromManifest(manifest: Record<string, unknown>, app: ManifestApp): string;
  /** The manifests given to createAppFromManifest, in order. */
  manifests: Record<string, unknown>[];
  /** Every issued installation token that occurs in `text`. */
  leakedTokens(text: string): string[];
  /** One line per request: `POST /repos/o/r/check-runs → 201`. */
  summary(): string;
  stop(): Promise<void>;
}

const PREFIX = "/api/v3";
/** Where GitHub Enterprise Server takes release asset uploads (uploads.github.com on github.com). */
const UPLOADS_PREFIX = "/api/uploads";
const DEFAULT_PERMISSIONS = {
  checks: "write",
  statuses: "write",
  contents: "write",
  pull_requests: "read",
  metadata: "read",
};
const JWT_MAX_LIFETIME_S = 600;
const CLOCK_SKEW_S = 60;

/**
 * A stand-in for GitHub's REST API (GitHub Enterprise layout: everything under /api/v3, asset uploads under
 * /api/uploads) on a loopback port: mints installation tokens, serves files set with setContent, accepts
 * commit statuses, check runs and releases (with assets and tags) after validating them against GitHub's
 * OpenAPI description plus its documented limits.
 */
export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  const spec = loadOpenApiSpec(options.spec ?? "api.github.com");
  const publicKey: KeyObject | undefined = options.privateKey ? createPublicKey(options.privateKey) : undefined;
  const permissions = options.permissions ?? DEFAULT_PERMISSIONS;
  const requests: RecordedRequest[] = [];
  const unexpected: RecordedRequest[] = [];
  const violations: string[] = [];
  const issuedTokens: IssuedToken[] = [];
  const statuses: StatusRecord[] = [];
  const checkRuns: CheckRunRecord[] = [];
  const contents = new Map<string, string>();
  const failures: (FailureInjection & { left: number })[] = [];
  const holds: {
    match: HoldInjection;
    left: number;
    arrived: number;
    released: boolean;
    waiting: (() => void)[];
    onArrival: Set<() => void>;
  }[] = [];
  const listeners = new Set<() => void>();
  let nextId = 1000;
  let origin = "";
  const repoIds = new Map<string, { id: number; owner: string; repo: string }>();
  const repoId = (owner: string, repo: string) => {
    const key = `${owner.toLowerCase()}/${repo.toLowerCase()}`;
    let entry = repoIds.get(key);
    if (!entry) repoIds.set(key, (entry = { id: 500_000 + repoIds.size + 1, owner, repo }));
    return entry.id;
  };

  const contentKey = (owner: string, repo: string, path: string) =>
    `${owner.toLowerCase()}/${repo.toLowerCase()}/${path.replace(/^\/+/, "")}`;

  const violation = (ctx: Ctx, message: string) => violations.push(`${ctx.method} ${ctx.path}: ${message}`);

  const notFound = (ctx: Ctx): Reply => ({
    status: 404,
    body: {
      message: "Not Found",
      documentation_url: ctx.op?.documentationUrl ?? "https://docs.github.com/rest",
      status: "404",
    },
  });

  const invalid = (ctx: Ctx, resource: string, issues: SchemaIssue[]): Reply => {
    for (const i of issues) violation(ctx, `${i.field || "body"}: ${i.message}`);
    return {
      status: 422,
      body: {
        message: `Invalid request.\n\n${issues.map((i) => i.message).join("\n")}`,
        errors: issues.map((i) => ({ resource, code: "invalid", field: i.field, message: i.message })),
        documentation_url: ctx.op?.documentationUrl,
        status: "422",
      },
    };
  };

  /** Validates a request body; returns the 422 to send, or undefined when GitHub would accept it. */
  const validate = (ctx: Ctx, resource: string): Reply | undefined => {
    if (!ctx.op?.requestSchema) throw new Error(`no request schema for ${ctx.method} ${ctx.path}`);
    if (ctx.body === undefined) return invalid(ctx, resource, [{ field: "", message: "a JSON body is required" }]);
    const schema = validateSchema(ctx.op.requestSchema, ctx.body, spec.document);
    const general = githubRules(ctx.op.operationId, ctx.body);
    const release = releaseRules(ctx.op.operationId, ctx.body);
    for (const u of [...schema.unknown, ...general.lint, ...release.lint])
      violation(ctx, `${u.message} (GitHub accepts this)`);
    // A release rule restating what the schema already rejected (make_latest: false) is not a second error.
    const schemaFields = new Set(schema.errors.map((e) => e.field));
    const errors = [...schema.errors, ...general.errors, ...release.errors.filter((e) => !schemaFields.has(e.field))];
    return errors.length > 0 ? invalid(ctx, resource, errors) : undefined;
  };

  /** Checks the app JWT (Authorization: Bearer) that /app endpoints need. */
  const appAuth = (ctx: Ctx): Reply | undefined => {
    const problem = jwtProblem(ctx.headers.authorization, options.appId, publicKey);
    if (!problem) return undefined;
    violation(ctx, `app JWT rejected: ${problem}`);
    return {
      status: 401,
      body: {
        message: "A JSON web token could not be decoded",
        documentation_url: "https://docs.github.com/rest",
        status: "401",
      },
    };
  };

  /** Checks the installation token (Authorization: token ghs_…) that repository endpoints need. */
  const installationAuth = (ctx: Ctx): Reply | undefined => {
    const match = /^(?:token|bearer)\s+(\S+)$/i.exec(ctx.headers.authorization ?? "");
    if (match && options.acceptTokens?.includes(match[1]!)) return undefined;
    const issued = match ? issuedTokens.find((t) => t.token === match[1]) : undefined;
    if (issued && Date.parse(issued.expiresAt) > Date.now()) return undefined;
    violation(ctx, match ? "unknown or expired installation token" : "no installation token in Authorization");
    return {
      status: 401,
      body: { message: "Bad credentials", documentation_url: "https://docs.github.com/rest", status: "401" },
    };
  };

  const findRun = (owner: string, repo: string, id: number) =>
    checkRuns.find(
      (r) =>
        r.id === id && r.owner.toLowerCase() === owner.toLowerCase() && r.repo.toLowerCase() === repo.toLowerCase(),
    );

  const checkRunView = (run: CheckRunRecord) => {
    const f = run.fields;
    const output = (f.output ?? {}) as Record<string, unknown>;
    const api = `${origin}${PREFIX}/repos/${run.owner}/${run.repo}/check-runs/${run.id}`;
    return {
      id: run.id,
      node_id: Buffer.from(`CheckRun${run.id}`).toString("base64"),
      head_sha: f.head_sha,
      external_id: f.external_id ?? "",
      url: api,
      html_url: `${origin}/${run.owner}/${run.repo}/runs/${run.id}`,
      details_url: f.details_url ?? null,
      status: f.status,
      conclusion: f.conclusion ?? null,
      started_at: f.started_at ?? null,
      completed_at: f.completed_at ?? null,
      output: {
        title: output.title ?? null,
        summary: output.summary ?? null,
        text: output.text ?? null,
        annotations_count: run.annotations.length,
        annotations_url: `${api}/annotations`,
      },
      name: f.name,
      check_suite: { id: 1 },
      app: appObject(origin, options.appId, permissions),
      pull_requests: [],
    };
  };

  const releaseStore = createReleaseStore({
    origin: () => origin,
    nextId: () => nextId++,
    violation,
    notFound,
    validate,
    installationAuth,
    repoId,
    bot: () => ({ login: botUser().login, type: "Bot" }),
  });

  const manifests: Record<string, unknown>[] = [];
  const manifestCodes = new Map<string, { manifest: Record<string, unknown>; app: ManifestApp }>();

  const routes: Route[] = [
    {
      method: "POST",
      pattern: /^\/app-manifests\/([^/]+)\/conversions$/,
      handle: (ctx, [, code]) => {
        const made = manifestCodes.get(code!);
        if (!made) return notFound(ctx);
        manifestCodes.delete(code!); // a code is good once
        const { manifest, app } = made;
        return {
          status: 201,
          body: {
            ...appObject(origin, app.id, (manifest.default_permissions as Record<string, string>) ?? {}),
            name: String(manifest.name ?? "pyci"),
            events: (manifest.default_events as string[]) ?? [],
            client_id: "Iv1.manifest0123456",
            client_secret: randomBytes(20).toString("hex"),
            webhook_secret: app.webhookSecret,
            pem: app.privateKey,
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/app$/,
      handle: (ctx) => appAuth(ctx) ?? { status: 200, body: appObject(origin, options.appId, permissions) },
    },
    {
      method: "GET",
      pattern: /^\/app\/installations$/,
      handle: (ctx) =>
        appAuth(ctx) ?? {
          status: 200,
          body: Object.entries(options.installations ?? { 1: "acme" }).map(([id, login]) => ({
            id: Number(id),
            account: { login, id: Number(id) + 100, type: "Organization", site_admin: false },
            app_id: Number(options.appId ?? 1),
            target_type: "Organization",
            repository_selection: "all",
            html_url: `${origin}/organizations/${login}/settings/installations/${id}`,
            permissions,
            events: ["check_run", "check_suite", "pull_request"],
            created_at: "2026-01-01T00:00:00Z",
            updated_at: "2026-01-01T00:00:00Z",
          })),
        },
    },
    {
      method: "POST",
      pattern: /^\/app\/installations\/(\d+)\/access_tokens$/,
      handle: (ctx, [, id]) => {
        const denied = appAuth(ctx);
        if (denied) return denied;
        const token: IssuedToken = {
          token: `ghs_${randomBytes(18).toString("base64url")}`,
          installationId: Number(id),
          expiresAt: new Date(Date.now() + 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"),
        };
        issuedTokens.push(token);
        const requested = (ctx.body as { permissions?: Record<string, string> } | undefined)?.permissions;
        return {
          status: 201,
          body: {
            token: token.token,
            expires_at: token.expiresAt,
            permissions: requested ?? permissions,
            repository_selection: "all",
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/contents\/(.+)$/,
      handle: (ctx, [, owner, repo, rawPath]) => {
        const denied = installationAuth(ctx);
        if (denied) return denied;
        const path = decodeURIComponent(rawPath!);
        const text = contents.get(contentKey(owner!, repo!, path));
        if (text === undefined) return notFound(ctx);
        if (/application\/vnd\.github(\.v3)?\.raw/.test(String(ctx.headers.accept))) {
          return { status: 200, text, contentType: "application/vnd.github.raw; charset=utf-8" };
        }
        return { status: 200, body: contentFile(origin, owner!, repo!, path, text, ctx.query.ref) };
      },
    },
    {
      method: "POST",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/statuses\/([^/]+)$/,
      handle: (ctx, [, owner, repo, sha]) => {
        const denied = installationAuth(ctx) ?? validate(ctx, "Status");
        if (denied) return denied;
        if (!/^[0-9a-f]{40}$/.test(sha!)) violation(ctx, `status posted for ${sha}, not a full 40-hex SHA`);
        const body = ctx.body as Record<string, unknown>;
        const record: StatusRecord = { id: nextId++, owner: owner!, repo: repo!, sha: sha!, body, createdAt: now() };
        statuses.push(record);
        return {
          status: 201,
          body: {
            url: `${origin}${PREFIX}/repos/${owner}/${repo}/statuses/${sha}`,
            avatar_url: null,
            id: record.id,
            node_id: Buffer.from(`StatusContext${record.id}`).toString("base64"),
            state: body.state,
            description: body.description ?? null,
            target_url: body.target_url ?? null,
            context: body.context ?? "default",
            created_at: record.createdAt,
            updated_at: record.createdAt,
            creator: botUser(),
          },
        };
      },
    },
    {
      method: "GET",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/statuses$/,
      handle: (ctx, [, owner, repo, ref]) => {
        const denied = installationAuth(ctx);
        if (denied) return denied;
        const list = statuses
          .filter(
            (s) =>
              s.owner.toLowerCase() === owner!.toLowerCase() &&
              s.repo.toLowerCase() === repo!.toLowerCase() &&
              s.sha === ref,
          )
          .reverse()
          .map((s) => ({
            id: s.id,
            state: s.body.state,
            description: s.body.description ?? null,
            target_url: s.body.target_url ?? null,
            context: s.body.context ?? "default",
            created_at: s.createdAt,
            updated_at: s.createdAt,
          }));
        return { status: 200, body: list };
      },
    },
    {
      method: "POST",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/check-runs$/,
      handle: (ctx, [, owner, repo]) => {
        const denied = installationAuth(ctx) ?? validate(ctx, "CheckRun");
        if (denied) return denied;
        const body = ctx.body as Record<string, unknown>;
        const run: CheckRunRecord = {
          id: nextId++,
          owner: owner!,
          repo: repo!,
          fields: {},
          annotations: [],
          history: [],
        };
        applyCheckRun(run, body, true);
        checkRuns.push(run);
        return { status: 201, body: checkRunView(run) };
      },
    },
    {
      method: "PATCH",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/,
      handle: (ctx, [, owner, repo, id]) => {
        const denied = installationAuth(ctx) ?? validate(ctx, "CheckRun");
        if (denied) return denied;
        const run = findRun(owner!, repo!, Number(id));
        if (!run) {
          violation(ctx, `no check run ${id} in ${owner}/${repo}`);
          return notFound(ctx);
        }
        applyCheckRun(run, ctx.body as Record<string, unknown>, false);
        return { status: 200, body: checkRunView(run) };
      },
    },
    {
      method: "GET",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/check-runs\/(\d+)$/,
      handle: (ctx, [, owner, repo, id]) => {
        const denied = installationAuth(ctx);
        if (denied) return denied;
        const run = findRun(owner!, repo!, Number(id));
        return run ? { status: 200, body: checkRunView(run) } : notFound(ctx);
      },
    },
    {
      method: "GET",
      pattern: /^\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/check-runs$/,
      handle: (ctx, [, owner, repo, ref]) => {
        const denied = installationAuth(ctx);
        if (denied) return denied;
        let runs = checkRuns.filter(
          (r) =>
            r.owner.toLowerCase() === owner!.toLowerCase() &&
            r.repo.toLowerCase() === repo!.toLowerCase() &&
            r.fields.head_sha === ref,
        );
        if (ctx.query.check_name) runs = runs.filter((r) => r.fields.name === ctx.query.check_name);
        if (ctx.query.status) runs = runs.filter((r) => r.fields.status === ctx.query.status);
        if (ctx.query.filter !== "all") {
          const newest = new Map<unknown, CheckRunRecord>();
          for (const r of runs) newest.set(r.fields.name, r);
          runs = [...newest.values()];
        }
        const views = runs.reverse().map(checkRunView);
        return { status: 200, body: { total_count: views.length, check_runs: views } };
      },
    },
    ...releaseStore.routes,
  ];

  /** `jsonOk`: false when a REST body did not parse (400 on a known route; an unknown route stays unexpected). */
  const handle = (received: Ctx, jsonOk: boolean): Reply => {
    let ctx = received;
    // GitHub serves every repository route under /repositories/:id too (its Link headers point there).
    const byId = ctx.api === "rest" ? /^\/repositories\/(\d+)(\/.*)?$/.exec(ctx.path) : null;
    const known = byId ? [...repoIds.values()].find((r) => r.id === Number(byId[1])) : undefined;
    if (byId && known) {
      const path = `/repos/${known.owner}/${known.repo}${byId[2] ?? ""}`;
      ctx = { ...ctx, path, op: spec.match(ctx.method, path) };
    }
    const injected = failures.find(
      (f) =>
        f.left > 0 &&
        f.method.toUpperCase() === ctx.method &&
        (typeof f.path === "string" ? f.path === ctx.path : f.path.test(ctx.path)),
    );
    if (injected) {
      injected.left--;
      return {
        status: injected.status,
        body: injected.body ?? { message: `injected failure ${injected.status}`, status: String(injected.status) },
        ...(injected.headers ? { headers: injected.headers } : {}),
      };
    }
    for (const route of routes) {
      const m = route.method === ctx.method && (route.api ?? "rest") === ctx.api ? route.pattern.exec(ctx.path) : null;
      if (!m) continue;
      if (!jsonOk) {
        violation(ctx, "body is not JSON");
        return {
          status: 400,
          body: { message: "Problems parsing JSON", documentation_url: ctx.op?.documentationUrl, status: "400" },
        };
      }
      return route.handle(ctx, [...m] as string[]);
    }
    return { ...notFound(ctx), unexpected: true };
  };

  const server = createServer((req, res) => {
    void readBody(req).then(async (rawBytes) => {
      await held(req);
      respond(req, res, rawBytes);
    });
  });

  /** Waits while a holdNext() holds this request; never resolves for one still held at stop(). */
  const held = (req: IncomingMessage): Promise<void> => {
    const parsed = new URL(req.url ?? "/", "http://fake");
    const path = parsed.pathname.replace(/^\/api\/(v3|uploads)(?=\/)/, "");
    const method = (req.method ?? "GET").toUpperCase();
    const hold = holds.find(
      (h) =>
        h.left > 0 &&
        h.match.method.toUpperCase() === method &&
        (typeof h.match.path === "string" ? h.match.path === path : h.match.path.test(path)),
    );
    if (!hold) return Promise.resolve();
    hold.left--;
    hold.arrived++;
    for (const listener of [...hold.onArrival]) listener();
    if (hold.released) return Promise.resolve();
    return new Promise<void>((resolve) => hold.waiting.push(resolve));
  };

  const respond = (req: IncomingMessage, res: ServerResponse, rawBytes: Buffer) => {
    const url = req.url ?? "/";
    const parsed = new URL(url, "http://fake");
    const method = (req.method ?? "GET").toUpperCase();
    const under = (prefix: string) => parsed.pathname === prefix || parsed.pathname.startsWith(`${prefix}/`);
    const api: FakeApi = under(PREFIX) ? "rest" : under(UPLOADS_PREFIX) ? "uploads" : "web";
    const prefix = api === "rest" ? PREFIX : api === "uploads" ? UPLOADS_PREFIX : "";
    const path = parsed.pathname.slice(prefix.length) || "/";
    const op = api === "web" ? undefined : spec.match(method, path);
    const ctx: Ctx = {
      api,
      method,
      path,
      query: Object.fromEntries(parsed.searchParams),
      headers: req.headers,
      body: undefined,
      rawBytes,
      op,
    };
    // Uploads are raw bytes (a tarball is no JSON and no UTF-8): never parse or record them as text.
    const rawBody = api === "uploads" ? "" : rawBytes.toString("utf8");

    let reply: Reply;
    let bodyOk = true;
    if (api === "rest" && rawBody.length > 0) {
      try {
        ctx.body = JSON.parse(rawBody);
      } catch {
        bodyOk = false;
      }
    }
    try {
      reply = handle(ctx, bodyOk);
    } catch (error) {
      violation(ctx, `fake GitHub failed: ${String(error)}`);
      reply = { status: 500, body: { message: String(error) } };
    }

    const record: RecordedRequest = {
      api,
      method,
      path,
      url,
      query: ctx.query,
      headers: req.headers,
      body: ctx.body,
      rawBody,
      rawBytes,
      operationId: op?.operationId,
      status: reply.status,
      response: reply.text ?? reply.body,
      unexpected: reply.unexpected === true,
      at: new Date(),
    };
    requests.push(record);
    if (record.unexpected) unexpected.push(record);

    const payload = reply.raw ?? reply.text ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
    res.writeHead(reply.status, {
      "content-type": reply.contentType ?? "application/json; charset=utf-8",
      "x-github-request-id": randomBytes(8).toString("hex").toUpperCase(),
      "x-github-media-type": "github.v3; format=json",
      "x-ratelimit-limit": "5000",
      "x-ratelimit-remaining": "4999",
      "x-ratelimit-used": "1",
      "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 3600),
      "x-ratelimit-resource": "core",
      ...reply.headers,
    });
    res.end(payload);
    for (const listener of [...listeners]) listener();
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  origin = `http://${host}`;

  const summary = () =>
    requests
      .map(
        (r) =>
          `${r.method} ${r.api === "rest" ? "" : `[${r.api}] `}${r.path} → ${r.status}${r.unexpected ? " (unexpected)" : ""}`,
      )
      .join("\n");

  return {
    host,
    baseUrl: `${origin}${PREFIX}`,
    requests,
    unexpected,
    violations,
    issuedTokens,
    statuses,
    checkRuns,
    releases: releaseStore.releases,
    tags: releaseStore.tags,
    setReleases: releaseStore.setReleases,
    release: releaseStore.release,
    asset: releaseStore.asset,
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(requests)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `fake GitHub: condition not met within ${timeoutMs} ms; requests so far:\n${summary() || "(none)"}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    setContent(owner, repo, path, text) {
      const key = contentKey(owner, repo, path);
      if (text === null) contents.delete(key);
      else contents.set(key, text);
    },
    failNext(failure) {
      failures.push({ ...failure, left: failure.times ?? 1 });
    },
    clearFailures() {
      failures.length = 0;
    },
    holdNext(match) {
      const hold = {
        match,
        left: match.times ?? 1,
        arrived: 0,
        released: false,
        waiting: [] as (() => void)[],
        onArrival: new Set<() => void>(),
      };
      holds.push(hold);
      return {
        arrived: () => hold.arrived,
        waitForArrival(count = 1) {
          return new Promise<void>((resolve) => {
            const check = () => {
              if (hold.arrived < count) return;
              hold.onArrival.delete(check);
              resolve();
            };
            hold.onArrival.add(check);
            check();
          });
        },
        release() {
          hold.released = true;
          for (const resume of hold.waiting.splice(0)) resume();
        },
      };
    },
    manifests,
    createAppFromManifest(manifest, app) {
      manifests.push(manifest);
      const code = randomBytes(10).toString("hex");
      manifestCodes.set(code, { manifest, app });
      return code;
    },
    leakedTokens(text) {
      return issuedTokens.map((t) => t.token).filter((t) => text.includes(t));
    },
    summary,
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

function applyCheckRun(run: CheckRunRecord, body: Record<string, unknown>, create: boolean): void {
  run.history.push(body);
  const { output, ...rest } = body;
  Object.assign(run.fields, rest);
  if (create && run.fields.status === undefined) run.fields.status = "queued";
  if (body.conclusion !== undefined && body.conclusion !== null) {
    run.fields.status = "completed";
    run.fields.completed_at ??= now();
  }
  if (run.fields.status === "in_progress") run.fields.started_at ??= now();
  if (output && typeof output === "object") {
    const { annotations, ...o } = output as Record<string, unknown>;
    run.fields.output = { ...((run.fields.output as object | undefined) ?? {}), ...o };
    if (Array.isArray(annotations)) run.annotations.push(...(annotations as Record<string, unknown>[]));
  }
}

/** Why the Authorization header is not a valid GitHub App JWT, or undefined when it is. */
function jwtProblem(
  authorization: string | undefined,
  appId: number | string | undefined,
  publicKey: KeyObject | undefined,
): string | undefined {
  const match = /^bearer\s+([\w-]+)\.([\w-]+)\.([\w-]+)$/i.exec(authorization ?? "");
  if (!match) return "expected Authorization: Bearer <JWT>";
  const [, h, p, sig] = match as unknown as [string, string, string, string];
  let header: { alg?: string };
  let payload: { iss?: unknown; iat?: number; exp?: number };
  try {
    header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
    payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
  } catch {
    return "JWT header or payload is not JSON";
  }
  if (header.alg !== "RS256") return `JWT alg is ${header.alg}, GitHub needs RS256`;
  if (appId !== undefined && String(payload.iss) !== String(appId))
    return `JWT iss is ${String(payload.iss)}, expected app id ${appId}`;
  const nowS = Math.floor(Date.now() / 1000);
  if (typeof payload.iat !== "number" || typeof payload.exp !== "number") return "JWT lacks iat or exp";
  if (payload.iat > nowS + CLOCK_SKEW_S) return "JWT iat is in the future";
  if (payload.exp <= nowS) return "JWT has expired";
  if (payload.exp - payload.iat > JWT_MAX_LIFETIME_S + CLOCK_SKEW_S) return "JWT lives longer than 10 minutes";
  if (publicKey && !verify("sha256", Buffer.from(`${h}.${p}`), publicKey, Buffer.from(sig, "base64url"))) {
    return "JWT signature does not match the app's key";
  }
  return undefined;
}

function contentFile(origin: string, owner: string, repo: string, path: string, text: string, ref: string | undefined) {
  const bytes = Buffer.from(text, "utf8");
  const sha = createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
  const api = `${origin}${PREFIX}/repos/${owner}/${repo}/contents/${path}?ref=${ref ?? "main"}`;
  const html = `${origin}/${owner}/${repo}/blob/${ref ?? "main"}/${path}`;
  const git = `${origin}${PREFIX}/repos/${owner}/${repo}/git/blobs/${sha}`;
  return {
    type: "file",
    encoding: "base64",
    size: bytes.length,
    name: path.split("/").pop(),
    path,
    content: `${(bytes.toString("base64").match(/.{1,60}/g) ?? []).join("\n")}\n`,
    sha,
    url: api,
    git_url: git,
    html_url: html,
    download_url: `${origin}/raw/${owner}/${repo}/${ref ?? "main"}/${path}`,
    _links: { self: api, git, html },
  };
}

function appObject(origin: string, appId: number | string | undefined, permissions: Record<string, string>) {
  return {
    id: Number(appId ?? 1),
    slug: "pyci-test",
    node_id: "MDM6QXBwMQ==",
    client_id: "Iv1.0123456789abcdef",
    owner: { login: "pyci-owner", id: 1, node_id: "MDQ6VXNlcjE=", type: "Organization", site_admin: false },
    name: "pyci (test)",
    description: "Self-hosted CI for Python repositories",
    external_url: "http://127.0.0.1/",
    html_url: `${origin}/apps/pyci-test`,
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    permissions,
    events: ["check_run", "check_suite", "pull_request"],
    installations_count: 1,
  };
}

function botUser() {
  return { login: "pyci-test[bot]", id: 2, node_id: "MDM6Qm90Mg==", type: "Bot", site_admin: false };
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}
