import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "probot";

/**
 * One line per answered request, as Probot's access log words it
 * (`GET /builds/… 200 - 3ms`), without request headers: they can carry
 * credentials (the admin token), and a delivery's headers are not signed.
 */
export function accessLog(log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const http = log.child({ name: "http" });
  return (req, res) => {
    const started = Date.now();
    res.once("close", () => {
      const ms = Date.now() - started;
      const id = req.headers["x-github-delivery"] ?? req.headers["x-request-id"] ?? randomUUID();
      const level = res.statusCode >= 500 ? "error" : "info";
      const url = (req.url ?? "").slice(0, 512);
      http[level]({ req: { id, method: req.method, url, remoteAddress: req.socket.remoteAddress }, res: { statusCode: res.statusCode }, responseTime: ms }, `${req.method} ${url} ${res.statusCode} - ${ms}ms`);
    });
  };
}
