import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cachedEnvironment } from "../../../src/pipeline/env-cache/cached-environment.js";
import type { StepContext } from "../../../src/pipeline/types.js";

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A build's context in the bwrap sandbox whose environment is made from `python`. */
function context(python: (build: { dir: string; scratchDir: string }) => string) {
  const build = { dir: tempDir("pyci-repo-"), scratchDir: tempDir("pyci-scratch-") };
  let log = "";
  const ctx: StepContext = {
    ...build,
    repoConfig: {
      check: { enforceTypeErrors: undefined },
      test: { startDir: ".", pattern: "test*.py" },
      install: [],
      docs: { install: [], warningsAsErrors: false },
    },
    python: python(build),
    timeoutMs: 10_000,
    sandbox: { kind: "bwrap", hidden: [], readable: [], writable: [build.dir, build.scratchDir] },
    log: { write: (text) => (log += text) },
    envCache: { dir: tempDir("pyci-data-"), scope: "https://github.com/o/r.git", fill: true },
  };
  return { ctx, log: () => log };
}

const recipe = {
  step: "docs",
  name: "docs-venv",
  pipArgs: [{ args: ["-r", "docs/requirements.txt"] }],
  defines: {},
  make: () => Promise.reject(new Error("never made")),
};

describe("cachedEnvironment", () => {
  it.each([
    ["its scratch dir", (b: { scratchDir: string }) => join(b.scratchDir, "venv", "bin", "python")],
    ["its checkout", (b: { dir: string }) => join(b.dir, ".venv", "bin", "python")],
    ["a cached environment it was lent", () => "/pyci/venv/bin/python"],
  ])("never caches an environment made from an interpreter in %s", async (_where, python) => {
    const { ctx, log } = context(python);
    expect(await cachedEnvironment(ctx, recipe)).toBeUndefined();
    expect(log()).toBe(`pyci: environment not cached: ${ctx.python} is the build's own interpreter\n`);
    expect(readdirSync(ctx.envCache!.dir)).toEqual([]);
  });
});
