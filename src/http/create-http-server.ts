import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "probot";
import { accessLog } from "./access-log.js";
import { declaredLength } from "./read-limited-body.js";
import { refuseTooLarge } from "./refuse-too-large.js";

/** A route: answers and returns true, or returns false to let the next one try (Probot's addHandler contract). */
// biome-ignore lint/suspicious/noConfusingVoidType: the shape of Probot's own route handlers (its `Handler` type), which are Routes too
export type Route = (req: IncomingMessage, res: ServerResponse) => void | boolean | Promise<void | boolean>;

export interface HttpServerOptions {
  log: Logger;
  /** Tried in order (the webhook route first); a request none answers gets 404. */
  routes: Route[];
  /** Requests declaring a longer body (Content-Length) get 413 before any route sees them. */
  maxBodyBytes: number;
}

/**
 * pyci's HTTP server, in place of Probot's: the same routes (the webhook
 * endpoint, `/ping`, the app's handlers, 404), with bodies over
 * `maxBodyBytes` refused (413) before a route reads them, also when the
 * client asks `Expect: 100-continue` first (it is then told not to send).
 * 100 Continue is sent by a route that reads the body, once it has room for it
 * (the webhook route; no other route reads one): a client refused for another
 * reason is never asked to send.
 * A route that throws gets a 500, logged; the server keeps serving.
 */
export function createHttpServer(options: HttpServerOptions): Server {
  const logRequest = accessLog(options.log);
  const routes: Route[] = [ping, ...options.routes];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    logRequest(req, res);
    if (declaredLength(req) > options.maxBodyBytes) return refuseTooLarge(res, options.maxBodyBytes);
    try {
      for (const route of routes) {
        if (await route(req, res)) return;
      }
      if (!res.headersSent) res.writeHead(404).end();
    } catch (error) {
      options.log.error({ err: error, method: req.method, url: req.url?.slice(0, 512) }, "a route failed");
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  };

  const server = createServer((req, res) => void handle(req, res));
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => void handle(req, res));
  return server;
}

/** Probot's `GET /ping` → `PONG`, for load balancers and scripts that used it. */
function ping(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/ping") return false;
  res.writeHead(200, { "content-type": "text/plain" }).end("PONG");
  return true;
}
