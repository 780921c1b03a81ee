import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * The build reporter (src/github/build-reporter.ts) is the only writer of a
 * build's GitHub reports: no other module under src/ creates or updates a
 * commit status or a check run, nor reaches the outbox or the write helpers
 * the reporter is made of. Fails when a new writer is added anywhere else.
 */

const SRC = join(import.meta.dirname, "../../src");
/** The reporter, the write helpers it is made of, and the outbox that retries their writes. */
const WRITERS = [
  "github/build-reporter.ts",
  "github/set-status.ts",
  "github/check-run.ts",
  "github/write-or-keep.ts",
  "github/github-outbox.ts",
];
/** Modules only the reporter imports (the outbox itself is imported by the wiring that makes it). */
const REPORTER_PARTS = ["set-status", "check-run", "write-or-keep"];

const WRITES: [string, RegExp][] = [
  ["repos.createCommitStatus", /\brepos\s*\.\s*createCommitStatus\b/],
  ["checks.create", /\bchecks\s*\.\s*create\b/],
  ["checks.update", /\bchecks\s*\.\s*update\b/],
  [
    "a status or check-run route",
    /(?:request\s*\(\s*|route\s*:\s*)["'`](?:POST|PATCH)\s+\/repos\/\{owner\}\/\{repo\}\/(?:statuses|check-runs)/,
  ],
  ["outbox.deliver", /\.\s*deliver\s*\(/],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|js)$/.test(entry.name) ? [path] : [];
  });
}

describe("the build reporter is the only writer of statuses and check runs", () => {
  const files = sourceFiles(SRC).map((path) => ({ name: relative(SRC, path), text: readFileSync(path, "utf8") }));

  it("finds the source files", () => {
    expect(files.map((f) => f.name)).toEqual(expect.arrayContaining(WRITERS));
  });

  it("no other module writes a status or a check run", () => {
    const found = files
      .filter((f) => !WRITERS.includes(f.name))
      .flatMap((f) => WRITES.filter(([, pattern]) => pattern.test(f.text)).map(([what]) => `${f.name}: ${what}`));
    expect(found).toEqual([]);
  });

  it("no other module uses the reporter's write helpers", () => {
    const importer = new RegExp(`from\\s+["'][./]*(?:github/)?(?:${REPORTER_PARTS.join("|")})\\.js["']`);
    const found = files.filter((f) => !WRITERS.includes(f.name) && importer.test(f.text)).map((f) => f.name);
    expect(found).toEqual([]);
  });
});
