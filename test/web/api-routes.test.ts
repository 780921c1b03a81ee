import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildStore, newBuildId, type BuildRecord } from "../../src/store/build-store.js";
import { apiRoutes } from "../../src/web/api-routes.js";
import { serveRoutes, type RouteServer } from "../support/route-server.js";

const TOKEN = "test-admin-token-0123456789";
const buildUrl = (id: string) => `https://ci.example.com/builds/${id}`;
const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = (password: string, user = "anyone") => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`,
});

let dataDir: string;
let store: BuildStore;
let server: RouteServer;

function record(overrides: Partial<BuildRecord> = {}): BuildRecord {
  return {
    id: newBuildId(),
    owner: "acme",
    repo: "widgets",
    sha: "a".repeat(40),
    event: "pull_request.opened",
    pipeline: "pr",
    state: "success",
    branch: "main",
    createdAt: new Date().toISOString(),
    steps: [],
    ...overrides,
  };
}

/** `count` builds a second apart, the newest first in the returned list. */
function seed(count: number, overrides: (i: number) => Partial<BuildRecord> = () => ({})): BuildRecord[] {
  const base = Date.parse("2026-11-01T00:00:00.000Z");
  return Array.from({ length: count }, (_, i) =>
    store.create(record({ createdAt: new Date(base + i * 1000).toISOString(), ...overrides(i) })),
  ).reverse();
}

async function get(path: string, headers: Record<string, string> = {}, method = "GET") {
  const res = await fetch(`${server.url}${path}`, { headers, method });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function json(path: string) {
  const res = await get(path, bearer);
  expect(res.status, res.text).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  return JSON.parse(res.text);
}

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "pyci-api-"));
  store = new BuildStore(dataDir);
});
afterEach(async () => {
  await server?.close();
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("without CI_ADMIN_TOKEN", () => {
  beforeEach(async () => {
    server = await serveRoutes([apiRoutes({ store, adminToken: undefined, buildUrl })]);
  });

  it("answers 404 on every route, with or without credentials, and leaves other paths alone", async () => {
    const [build] = seed(1);
    for (const path of [
      "/builds",
      "/builds/",
      "/api/builds",
      `/api/builds/${build!.id}`,
      `/api/builds/${build!.id}/log`,
      "/api/builds/whatever",
    ]) {
      for (const headers of [{}, bearer]) {
        const res = await get(path, headers);
        expect(res.status, path).toBe(404);
        expect(res.text).toMatch(/CI_ADMIN_TOKEN/);
        expect(res.text).not.toContain(build!.id);
      }
    }
    expect((await get(`/builds/${build!.id}`)).text).toBe("no route\n"); // the build page is another module's
  });
});

describe("with CI_ADMIN_TOKEN", () => {
  beforeEach(async () => {
    server = await serveRoutes([apiRoutes({ store, adminToken: TOKEN, buildUrl })]);
  });

  it("asks for the token with both challenges, and refuses a wrong one", async () => {
    seed(1);
    for (const path of ["/builds", "/api/builds"]) {
      for (const headers of [
        {},
        { authorization: "Bearer wrong-token-0123456789" },
        basic("wrong"),
        basic(TOKEN.slice(0, -1)),
        { authorization: TOKEN },
      ]) {
        const res = await get(path, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Basic realm="pyci", charset="UTF-8", Bearer realm="pyci"');
        expect(res.text).not.toContain(TOKEN);
        expect(res.text).not.toMatch(/acme|widgets/);
      }
    }
    expect((await get("/api/builds", {}, "POST")).status).toBe(405);
  });

  it("lets the token in as a bearer token or as Basic auth's password", async () => {
    seed(1);
    expect((await get("/api/builds", bearer)).status).toBe(200);
    expect((await get("/api/builds", basic(TOKEN))).status).toBe(200);
    expect((await get("/api/builds", basic(TOKEN, ""))).status).toBe(200);
    const page = await get("/builds", basic(TOKEN));
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("cache-control")).toBe("no-store");
    const head = await get("/api/builds", bearer, "HEAD");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
  });

  it("lists builds newest first and filters them by repository, state and branch", async () => {
    seed(6, (i) => ({
      owner: i % 2 ? "acme" : "other",
      repo: i < 3 ? "widgets" : "gadgets",
      state: (["success", "failure", "error"] as const)[i % 3],
      branch: i === 5 ? "feature/x" : "main",
      prNumber: i,
    }));
    const all = await json("/api/builds");
    expect(all.builds.map((b: BuildRecord) => b.prNumber)).toEqual([5, 4, 3, 2, 1, 0]);
    expect(all.next).toBeNull();
    const ids = async (query: string) =>
      (await json(`/api/builds?${query}`)).builds.map((b: BuildRecord) => b.prNumber);
    expect(await ids("repository=acme/widgets")).toEqual([1]);
    expect(await ids("owner=acme&repo=gadgets")).toEqual([5, 3]);
    expect(await ids("repository=acme")).toEqual([5, 3, 1]);
    expect(await ids("state=error")).toEqual([5, 2]);
    expect(await ids("state=success&repository=other")).toEqual([0]);
    expect(await ids("branch=feature%2Fx")).toEqual([5]);
    expect(await ids("repository=nobody/nothing")).toEqual([]);

    const html = (await get("/builds?repository=acme&state=error", bearer)).text;
    expect(html.match(/<tr><td class=/g)).toHaveLength(1);
    expect(html).toContain("acme/gadgets");
    expect(html).toContain('<option value="error" selected>');

    const bad = await get("/api/builds?state=pending", bearer);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatch(/state must be one of/);
    const badPage = await get("/builds?limit=9999", bearer);
    expect(badPage.status).toBe(400);
    expect(badPage.text).toContain("limit must be a whole number from 1 to 200");
  });

  it("pages with the store's cursor: every build once, even those created in the same millisecond", async () => {
    const sameMs = "2026-11-02T00:00:00.000Z";
    const builds = [...seed(5), ...Array.from({ length: 4 }, () => store.create(record({ createdAt: sameMs })))];
    const seen: string[] = [];
    let next: string | null = "/api/builds?limit=2";
    let pages = 0;
    while (next) {
      const page: { builds: BuildRecord[]; next: string | null } = await json(next);
      expect(page.builds.length).toBeLessThanOrEqual(2);
      seen.push(...page.builds.map((b) => b.id));
      next = page.next;
      pages++;
    }
    expect(pages).toBe(5);
    expect(new Set(seen).size).toBe(9);
    expect(seen.sort()).toEqual(builds.map((b) => b.id).sort());

    // the HTML list links the same pages
    const first = (await get("/builds?limit=4", bearer)).text;
    const older = /href="([^"]+)" rel="next">Older builds/.exec(first)![1]!.replace(/&amp;/g, "&");
    expect(older).toMatch(/^\/builds\?limit=4&before=.+&beforeId=/);
    const second = (await get(older, bearer)).text;
    expect(second.match(/<tr><td class=/g)).toHaveLength(4);
    expect(second).toContain('<a href="/builds?limit=4">Newest</a>');
  });

  it("shows one build whole, without what stays on the server", async () => {
    const build = store.create(
      record({
        prNumber: 7,
        prTitle: "Fix <things>",
        state: "failure",
        checkRunId: 99,
        request: {
          pipeline: "pr",
          owner: "acme",
          repo: "widgets",
          sha: "a".repeat(40),
          event: "pull_request.opened",
          deliveryId: "d-1",
          installationId: 4242,
          sshUrl: "git@github.com:acme/widgets.git",
          cloneUrl: "https://github.com/acme/widgets.git",
        },
        steps: [
          {
            name: "install",
            state: "success",
            summary: "Installed",
            exitCode: 0,
            durationMs: 5,
            python: "/var/tmp/pyci-build-x/scratch/venv/bin/python",
          },
          {
            name: "test",
            state: "failure",
            summary: "1 failure in 2 tests",
            exitCode: 1,
            durationMs: 1200,
            tests: [
              { id: "t.T.test_a", outcome: "fail", durationMs: 3, traceback: "Traceback…", file: "t.py", line: 9 },
            ],
          },
        ],
      }),
    );
    const log = store.openLog(build.id, "test", (t) => t);
    log.write("running tests\n");
    log.close();

    const body = await json(`/api/builds/${build.id}`);
    expect(body).toMatchObject({
      id: build.id,
      url: buildUrl(build.id),
      logUrl: `/api/builds/${build.id}/log`,
      prTitle: "Fix <things>",
      state: "failure",
      checkRunId: 99,
    });
    expect(body.request).toBeUndefined();
    expect(body.steps[0].python).toBeUndefined();
    expect(body.steps[1].tests).toEqual([expect.objectContaining({ id: "t.T.test_a", traceback: "Traceback…" })]);
    expect(body.logs).toEqual([{ step: "test", size: 14, url: `/api/builds/${build.id}/log?step=test` }]);
    expect(JSON.stringify(body)).not.toMatch(/4242|git@github|pyci-build-x/);

    expect((await get(`/api/builds/${newBuildId()}`, bearer)).status).toBe(404);
    expect((await get("/api/builds/not-an-id", bearer)).status).toBe(404);
    expect((await get(`/api/builds/${build.id}/nope`, bearer)).status).toBe(404);
  });

  it("serves every step's log in the build's order, or one with ?step=", async () => {
    const build = store.create(
      record({
        steps: [
          { name: "checkout", state: "success", summary: "ok", exitCode: 0, durationMs: 1 },
          { name: "check", state: "success", summary: "ok", exitCode: 0, durationMs: 1 },
          { name: "test", state: "success", summary: "ok", exitCode: 0, durationMs: 1 },
        ],
      }),
    );
    const big = `${"x".repeat(999)}\n`.repeat(3000); // 3 MB: more than one piece
    for (const [step, text] of [
      ["test", big],
      ["checkout", "cloned\n"],
      ["check", "0 errors (no newline)"],
      ["pyci", "extra\n"],
    ] as const) {
      const log = store.openLog(build.id, step, (t) => t);
      log.write(text);
      log.close();
    }
    const all = await get(`/api/builds/${build.id}/log`, bearer);
    expect(all.status).toBe(200);
    expect(all.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(all.text).toBe(
      `==> checkout <==\ncloned\n==> check <==\n0 errors (no newline)\n==> test <==\n${big}==> pyci <==\nextra\n`,
    );
    const one = await get(`/api/builds/${build.id}/log?step=check`, bearer);
    expect(one.text).toBe("0 errors (no newline)");
    expect((await get(`/api/builds/${build.id}/log?step=test`, bearer)).text.length).toBe(big.length);
    expect((await get(`/api/builds/${build.id}/log?step=install`, bearer)).status).toBe(404);
    expect((await get(`/api/builds/${build.id}/log?step=..%2F..%2Fpyci.db`, bearer)).status).toBe(404);
    expect((await get(`/api/builds/${build.id}/log`)).status).toBe(401);
  });

  it("escapes payload text on the list page", async () => {
    store.create(record({ prNumber: 1, prTitle: "<script>alert(1)</script>", branch: "<img src=x>" }));
    const html = (await get("/builds", bearer)).text;
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<img src=x>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
  });
});
