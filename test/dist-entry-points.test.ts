import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { makeRepo } from "./support/git-repo.js";
import { freePort } from "./support/server-process.js";

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

  it("pyci --version, serve and doctor: the one command of an installed pyci", async () => {
    const cli = join(DIST, "cli.js");
    const version = (JSON.parse(readFileSync(join(process.cwd(), "package.json"), "utf8")) as { version: string })
      .version;
    expect(execFileSync(process.execPath, [cli, "--version"], { encoding: "utf8" }).trim()).toBe(`pyci ${version}`);
    const cwd = mkdtempSync(join(tmpdir(), "pyci-serve-"));
    const env = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      CI_DATA_DIR: join(cwd, "data"),
      CI_WORK_DIR: join(cwd, "work"),
    };
    // doctor: no App, no token → one failing line that says what to do, exit 1
    const doctor = spawnSync(process.execPath, [cli, "doctor"], { cwd, env, encoding: "utf8", timeout: 60_000 });
    expect(doctor.status, doctor.stdout + doctor.stderr).toBe(1);
    expect(doctor.stdout).toMatch(/^✗ github: no App credentials .* → register the App/m);
    // serve: without credentials, the registration page, until SIGTERM
    const port = await freePort();
    const server = spawn(process.execPath, [cli, "serve"], {
      cwd,
      env: { ...env, PORT: String(port), HOST: "127.0.0.1" },
    });
    try {
      let page: Response | undefined;
      for (let i = 0; i < 100 && !page; i++) {
        page = await fetch(`http://127.0.0.1:${port}/probot`).catch(() => undefined);
        if (!page) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(page?.status).toBe(200);
      expect(await page!.text()).toContain("Register pyci's GitHub App");
    } finally {
      server.kill("SIGTERM");
      await new Promise((resolve) => server.once("exit", resolve));
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 90_000);

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
