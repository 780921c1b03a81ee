import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeRepo } from "./support/git-repo.js";

/**
 * The built entry points, as users run them (`npm test` builds first): the
 * files pyci ships beside its code (the Python helpers, the web assets,
 * known_hosts) are found from dist/ as from src/, whatever a module's depth.
 */
const DIST = join(process.cwd(), "dist");
const repo = makeRepo({
  "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
  "test_calc.py":
    "import unittest\nfrom calc import add\n\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n",
});
afterAll(() => repo.remove());

describe("dist/", () => {
  it("pyci run checks and tests a repository through the shipped Python helpers and pyright", () => {
    expect(existsSync(join(DIST, "cli.js")), "run `npm run build` first").toBe(true);
    const r = spawnSync(process.execPath, [join(DIST, "cli.js"), "run", repo.dir], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/1 test passed/);
    expect(r.stdout).toMatch(/^✓ check: No problems in 2 files/m);
  }, 150_000);

  it("the server's modules find the web assets and known_hosts", () => {
    const script = `
      const { webAsset } = await import(${JSON.stringify(join(DIST, "web", "web-asset.js"))});
      const { GITHUB_KNOWN_HOSTS } = await import(${JSON.stringify(join(DIST, "config.js"))});
      const { readFileSync } = await import("node:fs");
      console.log(webAsset("log-viewer.js").body.length > 0, readFileSync(GITHUB_KNOWN_HOSTS, "utf8").includes("github.com"));
    `;
    expect(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim()).toBe(
      "true true",
    );
  });

  it("the server renders pages with the modules of the page's script, which it serves beside it", () => {
    const script = `
      const { renderAnsi } = await import(${JSON.stringify(join(DIST, "web", "render-ansi.js"))});
      const { buildPage } = await import(${JSON.stringify(join(DIST, "web", "build-page.js"))});
      const { webAsset } = await import(${JSON.stringify(join(DIST, "web", "web-asset.js"))});
      console.log(renderAnsi("\\u001b[31mred\\n").lines[0], typeof buildPage, webAsset("log-viewer.js").imports.map((a) => a.path).join(" "));
    `;
    expect(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim()).toBe(
      '<span class="a-f1">red</span> function /assets/format-bytes.js /assets/log-lines.js /assets/render-ansi.js',
    );
  });
});
