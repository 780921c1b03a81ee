import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path));

/**
 * action/index.js is committed (action.yml runs it as it is): it must be what the sources make now.
 * `npm run build` leaves it alone, so that on a clean clone this compares the committed file.
 */
describe("the action's committed bundle", () => {
  const dir = mkdtempSync(join(tmpdir(), "pyci-action-bundle-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is byte for byte what scripts/build-action.js makes of the sources (else: npm run build:action, and commit action/index.js)", () => {
    const fresh = join(dir, "index.js");
    execFileSync(process.execPath, ["scripts/build-action.js", fresh], { cwd: ROOT, stdio: "pipe" });
    const committed = read("action/index.js");
    expect(committed.equals(readFileSync(fresh)), "action/index.js is stale").toBe(true);
  }, 60_000);

  it("inlines no native code and no better-sqlite3, and installs the pyright pyci is built with", () => {
    const bundle = read("action/index.js").toString("utf8");
    expect(bundle).toContain("// src/store/node-sqlite-database.ts");
    expect(bundle).not.toMatch(/node_modules\/better-sqlite3|\.node["']/);
    const pinned = JSON.parse(read("action/package.json").toString()).dependencies;
    expect(pinned).toEqual({ pyright: JSON.parse(read("node_modules/pyright/package.json").toString()).version });
    const lock = JSON.parse(read("action/package-lock.json").toString());
    expect(lock.packages["node_modules/pyright"].version).toBe(pinned.pyright);
  });
});
