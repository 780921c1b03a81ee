import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ProbotOctokit } from "probot";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countApiErrors } from "../../src/github/count-api-errors.js";

/** Without Probot's retries and throttling: one request, one answer. */
const PlainOctokit = ProbotOctokit.defaults((options: Record<string, unknown> = {}) => ({
  ...options,
  retry: { enabled: false },
  throttle: { ...(options.throttle as object | undefined), enabled: false },
}));

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  // GitHub as seen from pyci: /ok answers, /missing is gone, /down is a bad gateway
  server = createServer((req, res) => {
    const status = req.url?.includes("/missing") ? 404 : req.url?.includes("/down") ? 502 : 200;
    res
      .writeHead(status, { "content-type": "application/json" })
      .end(JSON.stringify({ message: status === 200 ? "ok" : "nope" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("countApiErrors", () => {
  it("counts failed requests by status (network without one) and passes every error through", async () => {
    const seen: (number | undefined)[] = [];
    const octokit = countApiErrors(new PlainOctokit({ baseUrl, auth: "ghs_test" }), {
      githubApiError: (status) => seen.push(status),
    });
    await octokit.request("GET /repos/{owner}/{repo}/ok", { owner: "acme", repo: "widgets" });
    await expect(
      octokit.request("GET /repos/{owner}/{repo}/missing", { owner: "acme", repo: "widgets" }),
    ).rejects.toMatchObject({ status: 404 });
    await expect(
      octokit.request("POST /repos/{owner}/{repo}/down", { owner: "acme", repo: "widgets" }),
    ).rejects.toMatchObject({ status: 502 });
    const offline = countApiErrors(new PlainOctokit({ baseUrl: "http://127.0.0.1:9", auth: "ghs_test" }), {
      githubApiError: (status) => seen.push(status),
    });
    await expect(offline.request("GET /rate_limit")).rejects.toThrow();
    expect(seen).toEqual([404, 502, undefined]);
  });
});
