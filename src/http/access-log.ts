import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "probot";

/**
 * One line per answered request, as Probot's access log words it
 * (`GET /builds/… 200 - 3ms`), without request headers: they can carry
 * credentials (the admin token), and a delivery's headers are not signed.
 * `responseTime` is in milliseconds to the hundredth, from the request's
 * headers to the response's end (a webhook answered in 0.4 ms shows as such,
 * not as 0 or 1): the benchmark reads the server's side of the
 * acknowledgement from it. `cpuMs` is the CPU time the whole process spent
 * meanwhile (user + system, every thread): a request's own cost when requests
 * come one at a time, more than its own when others are served meanwhile.
 */
export function accessLog(log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const http = log.child({ name: "http" });
  return (req, res) => {
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    res.once("close", () => {
      const ms = Math.round((performance.now() - started) * 100) / 100;
      const cpu = process.cpuUsage(cpuAtStart);
      const cpuMs = Math.round((cpu.user + cpu.system) / 10) / 100;
      const id = req.headers["x-github-delivery"] ?? req.headers["x-request-id"] ?? randomUUID();
      const level = res.statusCode >= 500 ? "error" : "info";
      const url = (req.url ?? "").slice(0, 512);
      http[level](
        {
          req: { id, method: req.method, url, remoteAddress: req.socket.remoteAddress },
          res: { statusCode: res.statusCode },
          responseTime: ms,
          cpuMs,
        },
        `${req.method} ${url} ${res.statusCode} - ${Math.round(ms)}ms`,
      );
    });
  };
}
