import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every process a step starts can run the repository's code (a venv's
 * python, conf.py, pip building a package): steps start them only through
 * runInBuild, which always applies the build's sandbox. A step, or a helper
 * of one, that imports exec.js's run could forget it, as the docs step once did.
 */
const STEP_CODE = ["src/pipeline/steps", "src/pipeline/python-environment.ts"];
/** Helpers that also run the server's own tools outside the sandbox, each on purpose (see their comments). */
const ALLOWED = new Set(["src/pipeline/steps/docs/find-sphinx.ts"]);

function files(path: string): string[] {
  if (path.endsWith(".ts")) return [path];
  return readdirSync(path, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".ts"))
    .map((name) => join(path, name));
}

describe("steps start processes in the sandbox", () => {
  it("no step imports exec.js's run: they go through runInBuild", () => {
    const offenders = STEP_CODE.flatMap(files)
      .filter((file) => !ALLOWED.has(file))
      .filter((file) => /import\s*\{[^}]*\brun\b[^}]*\}\s*from\s*"[./]*exec\.js"/.test(readFileSync(file, "utf8")));
    expect(offenders).toEqual([]);
  });

  it("the check passes over a file that does import it (it can fail)", () => {
    const text = 'import { run, type RunResult } from "../exec.js";';
    expect(/import\s*\{[^}]*\brun\b[^}]*\}\s*from\s*"[./]*exec\.js"/.test(text)).toBe(true);
  });
});
