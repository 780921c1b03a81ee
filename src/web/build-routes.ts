import type { IncomingMessage, ServerResponse } from "node:http";
import { PIPELINES, type PipelineName } from "../builds/pipelines.js";
import { resultNames } from "../pipeline/run-pipeline.js";
import type { BuildRecord, BuildStore } from "../store/build-store.js";
import { buildPage } from "./build-page.js";
import { drained } from "./drained.js";
import { LineIndex } from "./line-index.js";
import type { LiveClients } from "./live-clients.js";
import { parsePositions, streamBuildEvents, type LiveEventsOptions } from "./live-events.js";
import { readLogWindow, type LogWindow } from "./log-window.js";
import { webAsset, type WebAsset } from "./web-asset.js";

/** A ranged log request returns at most this many bytes (its x-log-end says where it stopped). */
export const MAX_RANGE_BYTES = 8 * 1024 * 1024;
/** The whole raw log is streamed in reads of this size. */
const READ_BYTES = 1024 * 1024;

const PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const TEXT = "text/plain; charset=utf-8";

export interface BuildRoutesOptions {
  log?: LiveEventsOptions["log"] & { warn(obj: object, msg: string): void };
  /** The caps on open live streams (CI_LIVE_CLIENTS_PER_BUILD, CI_LIVE_CLIENTS), shared by every request. */
  liveClients: LiveClients;
  /** Heartbeat of the live events (tests shorten it). */
  heartbeatMs?: number;
  /** What a queued build waits for, said on its page (with CI_REDIS_URL: a worker with its labels). */
  waitingFor?(buildId: string): string | undefined;
}

/**
 * GET /builds/<id>                      the build's page: each step's log from its tail
 *     ?step=<step>&before=<byte>        …with that step's lines before that byte instead (no-JS "load earlier")
 * GET /builds/<id>/<step>.log           a step's whole log, as text
 *     ?start=<byte>&end=<byte>          bytes [start, end) of it (start < 0: from the end), at most
 *                                       MAX_RANGE_BYTES; x-log-start, x-log-end, x-log-size say which
 * GET /builds/<id>/events?at=<step:byte,…>  the build's live Server-Sent Events (see streamBuildEvents);
 *                                       503 with Retry-After when the build's or the server's streams are at their cap
 * GET /assets/log-viewer.js             the page's script, and the modules it imports (/assets/render-ansi.js, …)
 * The id is a 128-bit capability: unknown ids and malformed paths get 404.
 */
export function buildRoutes(store: BuildStore, options: BuildRoutesOptions) {
  const lines = new LineIndex(store);
  const script = webAsset("log-viewer.js");
  const assets = withImports(script);

  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/builds\/([A-Za-z0-9_-]{22})(?:\/(?:([a-z][a-z0-9_-]*)\.log|(events)))?\/?$/.exec(url.pathname);
    const asset = assets.get(url.pathname);
    if (!asset && !match) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, TEXT, "Method not allowed\n", { allow: "GET, HEAD" });
      return true;
    }
    if (asset) {
      sendAsset(req, res, asset, url.searchParams);
      return true;
    }
    const [, id, step, events] = match as unknown as [string, string, string | undefined, string | undefined];
    const build = store.get(id);
    if (!build) send(res, 404, TEXT, "No such build\n");
    else if (step !== undefined) await sendLog(store, req, res, id, step, url.searchParams);
    else if (events !== undefined) await sendEvents(store, req, res, id, url.searchParams, options);
    else await sendPage(store, lines, res, build, url.searchParams, script.src, options.waitingFor?.(build.id));
    return true;
  };
}

/** The asset and every asset it imports, by URL path. */
function withImports(asset: WebAsset, byPath = new Map<string, WebAsset>()): Map<string, WebAsset> {
  byPath.set(asset.path, asset);
  for (const imported of asset.imports) withImports(imported, byPath);
  return byPath;
}

function sendAsset(req: IncomingMessage, res: ServerResponse, asset: WebAsset, query: URLSearchParams): void {
  res.writeHead(200, {
    "content-type": asset.contentType,
    "content-length": asset.body.length,
    "cache-control": query.get("v") === asset.version ? "public, max-age=31536000, immutable" : "no-cache",
    "x-content-type-options": "nosniff",
  });
  res.end(req.method === "HEAD" ? undefined : asset.body);
}

/** Positions from the reconnection's Last-Event-ID, else from the page's `?at=`; a place under the caps held while it streams. */
async function sendEvents(
  store: BuildStore,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  query: URLSearchParams,
  options: BuildRoutesOptions,
): Promise<void> {
  if (req.method === "HEAD") return send(res, 200, "text/event-stream; charset=utf-8", "");
  const admission = options.liveClients.admit(id);
  if (!admission.admitted) {
    options.log?.warn(
      { buildId: id, cap: admission.cap, limit: admission.limit },
      "live log stream refused: too many open",
    );
    const text =
      admission.cap === "per-build"
        ? `Too many live log streams of this build (CI_LIVE_CLIENTS_PER_BUILD=${admission.limit}); reload the page later for new output\n`
        : `Too many live log streams on this server (CI_LIVE_CLIENTS=${admission.limit}); reload the page later for new output\n`;
    return send(res, 503, TEXT, text, { "retry-after": "30" });
  }
  const lastEventId = req.headers["last-event-id"];
  const positions = parsePositions(
    (Array.isArray(lastEventId) ? lastEventId[0] : lastEventId) ?? query.get("at") ?? undefined,
  );
  try {
    await streamBuildEvents(store, id, res, { positions, ...options });
  } finally {
    admission.release();
  }
}

async function sendPage(
  store: BuildStore,
  lines: LineIndex,
  res: ServerResponse,
  build: BuildRecord,
  query: URLSearchParams,
  scriptSrc: string,
  waiting: string | undefined,
): Promise<void> {
  const logged = (await store.logSteps(build.id)).map((l) => l.step);
  const focusStep = query.get("step") ?? "";
  const before = wholeNumber(query.get("before"));
  const focus = logged.includes(focusStep) && before !== undefined && before >= 0 ? focusStep : undefined;
  const windows: LogWindow[] = [];
  for (const step of stepOrder(build, logged)) {
    const window = await readLogWindow(store, lines, build.id, step, step === focus ? before : undefined);
    if (window) windows.push(window);
  }
  send(
    res,
    200,
    "text/html; charset=utf-8",
    buildPage(build, windows, { scriptSrc, ...(focus ? { focus } : {}), ...(waiting ? { waiting } : {}) }),
    {
      "content-security-policy": PAGE_CSP,
    },
  );
}

async function sendLog(
  store: BuildStore,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  step: string,
  query: URLSearchParams,
): Promise<void> {
  const start = wholeNumber(query.get("start"));
  const end = wholeNumber(query.get("end"));
  if ((query.has("start") && start === undefined) || (query.has("end") && (end === undefined || end < 0))) {
    send(res, 400, TEXT, "start and end must be whole numbers of bytes (a negative start counts from the end)\n");
    return;
  }
  if (start === undefined && end === undefined) return sendWholeLog(store, req, res, id, step);
  const from = start ?? 0;
  const range =
    from < 0
      ? { start: Math.max(from, -MAX_RANGE_BYTES), ...(end !== undefined ? { end } : {}) }
      : { start: from, end: Math.min(end ?? Infinity, from + MAX_RANGE_BYTES) };
  const chunk = await store.readLogRange(id, step, range);
  if (!chunk) {
    send(res, 404, TEXT, "No such log\n");
    return;
  }
  send(res, 200, TEXT, req.method === "HEAD" ? "" : chunk.text, {
    "x-log-start": String(chunk.start),
    "x-log-end": String(chunk.end),
    "x-log-size": String(chunk.size),
  });
}

/** The log as it is when asked, streamed a read at a time at the pace of the client. */
async function sendWholeLog(
  store: BuildStore,
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  step: string,
): Promise<void> {
  const size = await store.logSize(id, step);
  if (size === undefined) {
    send(res, 404, TEXT, "No such log\n");
    return;
  }
  res.writeHead(200, { ...HEADERS, "content-type": TEXT, "x-log-size": String(size) });
  let closed = false;
  res.once("close", () => (closed = true));
  for (let at = 0; at < size && !closed && req.method !== "HEAD"; ) {
    const chunk = await store.readLogRange(id, step, { start: at, end: Math.min(size, at + READ_BYTES) });
    if (!chunk || chunk.end <= at) break;
    at = chunk.end;
    if (!res.write(chunk.text)) await drained(res);
  }
  res.end();
}

/** The build's steps in the order they ran, then steps with a log but no result yet, in pipeline order. */
function stepOrder(build: BuildRecord, logged: string[]): string[] {
  const pipeline = PIPELINES[build.pipeline as PipelineName]?.pipeline;
  const order = [...(pipeline ? resultNames(pipeline) : ["checkout", "config"]), "publish", "pyci"];
  const rank = (step: string) => (order.includes(step) ? order.indexOf(step) : order.length);
  const finished = build.steps.map((s) => s.name);
  const rest = logged.filter((s) => !finished.includes(s)).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return [...new Set([...finished, ...rest])].filter((s) => logged.includes(s));
}

function wholeNumber(value: string | null): number | undefined {
  if (value === null || !/^-?\d{1,15}$/.test(value)) return undefined;
  return Number(value);
}

const HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'none'",
};

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { ...HEADERS, "content-type": type, ...headers });
  res.end(body);
}
