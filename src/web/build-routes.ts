import type { IncomingMessage, ServerResponse } from "node:http";
import type { BuildStore } from "../store/build-store.js";
import { buildPage } from "./build-page.js";

/** Inline at most this much of each log on the page; the raw log link has all of it. */
const PAGE_LOG_CHARS = 1024 * 1024;
const STEP_NAMES = ["checkout", "config", "install", "check", "test", "pyci"];

/**
 * GET /builds/<id>            the build's page
 * GET /builds/<id>/<step>.log  a step's whole log, as text
 * The id is a 128-bit capability: unknown ids and malformed paths get 404.
 */
export function buildRoutes(store: BuildStore) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const match = /^\/builds\/([A-Za-z0-9_-]{22})(?:\/([a-z-]+)\.log)?\/?$/.exec(url.pathname);
    if (!match) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, "text/plain; charset=utf-8", "Method not allowed\n", { allow: "GET, HEAD" });
      return true;
    }
    const [, id, step] = match as unknown as [string, string, string | undefined];
    const build = store.get(id);
    if (!build) {
      send(res, 404, "text/plain; charset=utf-8", "No such build\n");
      return true;
    }
    if (step) {
      const text = await store.readLog(id, step);
      if (text === undefined) send(res, 404, "text/plain; charset=utf-8", "No such log\n");
      else send(res, 200, "text/plain; charset=utf-8", text);
      return true;
    }
    const names = [...new Set([...build.steps.map((s) => s.name), ...STEP_NAMES])];
    const logs = [];
    for (const name of names) {
      const text = await store.readLog(id, name);
      if (text === undefined) continue;
      const truncated = text.length > PAGE_LOG_CHARS;
      logs.push({ step: name, text: truncated ? text.slice(-PAGE_LOG_CHARS) : text, truncated });
    }
    send(res, 200, "text/html; charset=utf-8", buildPage(build, logs));
    return true;
  };
}

function send(res: ServerResponse, status: number, type: string, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'",
    ...headers,
  });
  res.end(body);
}
