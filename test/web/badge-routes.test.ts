import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildStore, newBuildId, type BuildRecord } from "../../src/store/build-store.js";
import { badgeRoutes } from "../../src/web/badge-routes.js";
import { serveRoutes, type RouteServer } from "../support/route-server.js";

let dataDir: string;
let store: BuildStore;
let server: RouteServer;
let minute = 0;

/** Builds are created a minute apart, in call order. */
function build(overrides: Partial<BuildRecord>): BuildRecord {
  return store.create({
    id: newBuildId(),
    owner: "acme",
    repo: "widgets",
    sha: "a".repeat(40),
    event: "pull_request.synchronize",
    pipeline: "pr",
    state: "success",
    branch: "main",
    createdAt: new Date(Date.parse("2026-11-01T00:00:00.000Z") + minute++ * 60_000).toISOString(),
    steps: [],
    ...overrides,
  });
}

async function badge(path: string) {
  const res = await fetch(`${server.url}${path}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const message = (svg: string) => /aria-label="pyci: ([^"]+)"/.exec(svg)?.[1];

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "pyci-badge-"));
  store = new BuildStore(dataDir);
});
afterEach(async () => {
  await server.close();
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("badges with CI_PUBLIC_BADGES=true", () => {
  beforeEach(async () => {
    server = await serveRoutes([badgeRoutes(store, true)]);
  });

  it("show the latest finished pull-request build on the branch, uncached", async () => {
    build({ branch: "main", state: "failure" });
    build({ branch: "main", state: "success" });
    build({ branch: "main", state: "running" }); // not finished: the badge keeps the last result
    build({ branch: "main", state: "error", pipeline: "docs" }); // another pipeline
    build({ branch: "feature/x", state: "failure" });
    build({ branch: "broken", state: "error" });

    const main = await badge("/badge/acme/widgets.svg?branch=main");
    expect(main.status).toBe(200);
    expect(main.headers.get("content-type")).toBe("image/svg+xml; charset=utf-8");
    expect(main.headers.get("cache-control")).toBe("no-cache");
    expect(main.headers.get("x-content-type-options")).toBe("nosniff");
    expect(main.text).toMatch(/^<svg /);
    expect(message(main.text)).toBe("passing");
    expect(main.text).toContain("<title>pyci: passing (acme/widgets on main)</title>");
    expect(message((await badge("/badge/acme/widgets.svg?branch=feature%2Fx")).text)).toBe("failing");
    expect(message((await badge("/badge/acme/widgets.svg?branch=broken")).text)).toBe("error");
    expect(message((await badge("/badge/acme/widgets.svg")).text)).toBe("error"); // any branch: the newest
    expect(message((await badge("/badge/acme/widgets.svg?branch=nothing-here")).text)).toBe("unknown");
    expect(message((await badge("/badge/acme/unknown-repo.svg")).text)).toBe("unknown");
  });

  it("follow new results", async () => {
    build({ state: "failure" });
    expect(message((await badge("/badge/acme/widgets.svg?branch=main")).text)).toBe("failing");
    build({ state: "success" });
    expect(message((await badge("/badge/acme/widgets.svg?branch=main")).text)).toBe("passing");
  });

  it("escape the names they show, and refuse malformed ones", async () => {
    build({ branch: `<script>"&'`, state: "success" });
    const res = await badge(`/badge/acme/widgets.svg?branch=${encodeURIComponent(`<script>"&'`)}`);
    expect(message(res.text)).toBe("passing");
    expect(res.text).not.toContain("<script>");
    expect(res.text).toContain("acme/widgets on &lt;script&gt;&quot;&amp;&#39;");
    for (const path of [
      "/badge/acme/widgets",
      "/badge/acme/widgets.png",
      "/badge/acme.svg",
      "/badge/a/b/c.svg",
      "/badge/%3Cx%3E/widgets.svg",
      "/badge/acme/%E0%A4%A.svg",
      `/badge/acme/widgets.svg?branch=${"b".repeat(256)}`,
    ]) {
      expect((await badge(path)).status, path).toBe(404);
    }
  });
});

describe("badges without CI_PUBLIC_BADGES", () => {
  it("answer 404, whatever was built", async () => {
    server = await serveRoutes([badgeRoutes(store, false)]);
    build({ state: "success" });
    const res = await badge("/badge/acme/widgets.svg?branch=main");
    expect(res.status).toBe(404);
    expect(res.text).toContain("CI_PUBLIC_BADGES=true");
    expect(res.text).not.toContain("<svg");
    expect((await badge("/builds")).text).toBe("no route\n");
  });
});
