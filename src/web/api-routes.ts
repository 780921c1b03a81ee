import type { IncomingMessage, ServerResponse } from "node:http";
import type { BuildStore } from "../store/build-store.js";
import { requireAdminToken } from "./admin-token.js";
import { buildJson } from "./build-json.js";
import { buildListPage } from "./build-list-page.js";
import { listQueryString, parseListQuery, type ParsedListQuery } from "./list-query.js";
import { send, sendJson, sendText } from "./send-response.js";
import { drained } from "./drained.js";

export interface ApiRoutesOptions {
  store: BuildStore;
  /** CI_ADMIN_TOKEN. Without it every route here answers 404: the build pages' capability URLs stay the only way in. */
  adminToken: string | undefined;
  /** A build's page, as statuses and check runs link to it. */
  buildUrl(id: string): string;
}

/** Logs are streamed in pieces of this size: a 32 MiB log never sits in memory whole. */
const LOG_CHUNK_BYTES = 1024 * 1024;

const LIST_PAGE = /^\/builds\/?$/;
const API = /^\/api\/builds(?:\/(.*))?$/;
const API_BUILD = /^([A-Za-z0-9_-]{22})(\/log)?\/?$/;

/**
 * The routes behind CI_ADMIN_TOKEN (Bearer, or Basic with the token as the password):
 * GET /builds                  the build list (HTML): ?repository=owner/repo&state=&branch=&limit=, paged by ?before=&beforeId=
 * GET /api/builds              the same as JSON: { builds, next }
 * GET /api/builds/<id>         one build, whole: steps, tests, diagnostics, and its logs' sizes
 * GET /api/builds/<id>/log     every step's log as text, each under a "==> step <==" line; ?step=<name> for one
 */
export function apiRoutes(options: ApiRoutesOptions) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const listPage = LIST_PAGE.test(url.pathname);
    const api = API.exec(url.pathname);
    if (!listPage && !api) return false;
    if (!options.adminToken) {
      sendText(res, 404, "Not found (the build list and the API are disabled: set CI_ADMIN_TOKEN to enable them)");
      return true;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      sendText(res, 405, "Method not allowed", { allow: "GET, HEAD" });
      return true;
    }
    if (!requireAdminToken(req, res, options.adminToken)) return true;

    if (listPage) return listHtml(options, url, res);
    const rest = api![1];
    if (!rest) return listJson(options, url, res);
    const match = API_BUILD.exec(rest);
    const build = match ? options.store.get(match[1]!) : undefined;
    if (!match || !build) {
      sendJson(res, 404, { error: "No such build" });
      return true;
    }
    if (match[2])
      return sendLogs(
        options.store,
        build.id,
        build.steps.map((s) => s.name),
        url.searchParams.get("step"),
        req,
        res,
      );
    const logs = await options.store.logSteps(build.id);
    sendJson(res, 200, {
      ...buildJson(build, options.buildUrl(build.id)),
      logs: logs.map(({ step, size }) => ({
        step,
        size,
        url: `/api/builds/${build.id}/log?step=${encodeURIComponent(step)}`,
      })),
    });
    return true;
  };
}

function listHtml(options: ApiRoutesOptions, url: URL, res: ServerResponse): true {
  const parsed = parseListQuery(url.searchParams);
  if (typeof parsed === "string") {
    send(
      res,
      400,
      "text/html; charset=utf-8",
      buildListPage({ builds: [], filters: {}, problem: parsed, buildHref: options.buildUrl }),
    );
    return true;
  }
  const { builds, next } = page(options.store, parsed);
  const isFirst = parsed.query.before === undefined;
  send(
    res,
    200,
    "text/html; charset=utf-8",
    buildListPage({
      builds,
      filters: parsed.filters,
      buildHref: options.buildUrl,
      ...(next ? { olderHref: `/builds${next}` } : {}),
      ...(isFirst ? {} : { newestHref: `/builds${listQueryString(parsed.filters, parsed.query.limit)}` }),
    }),
  );
  return true;
}

function listJson(options: ApiRoutesOptions, url: URL, res: ServerResponse): true {
  const parsed = parseListQuery(url.searchParams);
  if (typeof parsed === "string") {
    sendJson(res, 400, { error: parsed });
    return true;
  }
  const { builds, next } = page(options.store, parsed);
  sendJson(res, 200, {
    builds: builds.map((b) => buildJson(b, options.buildUrl(b.id))),
    next: next ? `/api/builds${next}` : null,
  });
  return true;
}

/** One page of builds, newest first, and the query string of the next one (one more is read to know). */
function page(store: BuildStore, { filters, query }: ParsedListQuery) {
  const found = store.list({ ...query, limit: query.limit + 1 });
  const builds = found.slice(0, query.limit);
  const last = builds.at(-1);
  const next =
    found.length > query.limit && last
      ? listQueryString(filters, query.limit, { before: last.createdAt, beforeId: last.id })
      : undefined;
  return { builds, next };
}

/** Streams one step's log, or all of them (the build's steps in order, then any others), from disk. */
async function sendLogs(
  store: BuildStore,
  id: string,
  stepOrder: string[],
  step: string | null,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<true> {
  const available = await store.logSteps(id);
  const names = available.map((l) => l.step);
  if (step !== null && !names.includes(step)) {
    sendJson(res, 404, { error: "No such log" });
    return true;
  }
  const ordered =
    step !== null
      ? [step]
      : [...stepOrder.filter((n) => names.includes(n)), ...names.filter((n) => !stepOrder.includes(n))];
  res.writeHead(200, {
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'",
  });
  if (req.method === "HEAD") {
    res.end();
    return true;
  }
  for (const name of [...new Set(ordered)]) {
    if (step === null && !(await write(res, `==> ${name} <==\n`))) return true;
    let offset = 0;
    let endsWithNewline = true;
    const size = available.find((l) => l.step === name)!.size;
    while (offset < size) {
      const chunk = await store.readLogRange(id, name, {
        start: offset,
        end: Math.min(offset + LOG_CHUNK_BYTES, size),
      });
      if (!chunk || chunk.end <= offset) break;
      if (chunk.text) endsWithNewline = chunk.text.endsWith("\n");
      if (!(await write(res, chunk.text))) return true;
      offset = chunk.end;
    }
    if (step === null && !endsWithNewline && !(await write(res, "\n"))) return true;
  }
  res.end();
  return true;
}

/** Writes, waiting while the client is slow; false once it has gone away. */
async function write(res: ServerResponse, text: string): Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(text)) return true;
  await drained(res);
  return !res.destroyed;
}
