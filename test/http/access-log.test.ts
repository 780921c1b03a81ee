import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { accessLog } from "../../src/http/access-log.js";

describe("accessLog", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("logs method, URL, status, delivery id, the time and the process's CPU time to the hundredth of a millisecond, never headers", () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino(
      { level: "info" },
      new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) }),
    );
    const now = vi.spyOn(performance, "now").mockReturnValueOnce(1000).mockReturnValueOnce(1000.4567);
    const atStart = { user: 5000, system: 1000 };
    const cpu = vi
      .spyOn(process, "cpuUsage")
      .mockReturnValueOnce(atStart)
      .mockImplementationOnce((since) => {
        expect(since).toBe(atStart);
        return { user: 211, system: 102 };
      });
    const req = {
      method: "POST",
      url: "/api/github/webhooks",
      headers: { "x-github-delivery": "d-1", authorization: "Bearer secret-token" },
      socket: { remoteAddress: "127.0.0.1" },
    };
    const res = Object.assign(new EventEmitter(), { statusCode: 200 });

    accessLog(log)(req as unknown as IncomingMessage, res as unknown as ServerResponse);
    res.emit("close");

    expect(now).toHaveBeenCalledTimes(2);
    expect(cpu).toHaveBeenCalledTimes(2);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      name: "http",
      req: { id: "d-1", method: "POST", url: "/api/github/webhooks", remoteAddress: "127.0.0.1" },
      res: { statusCode: 200 },
      responseTime: 0.46,
      cpuMs: 0.31,
      msg: "POST /api/github/webhooks 200 - 0ms",
    });
    expect(JSON.stringify(lines[0])).not.toContain("secret-token");
  });
});
