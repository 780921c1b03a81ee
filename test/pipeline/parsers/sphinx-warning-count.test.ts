import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sphinxWarningCount } from "../../../src/pipeline/parsers/sphinx-warning-count.js";

/** The fixtures of sphinx-warnings.test.ts: Debian's sphinx-build 5.3.0. */
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8");

describe("sphinxWarningCount", () => {
  it("reads Sphinx's own count from its summary line, ERROR and CRITICAL lines among the warnings", () => {
    expect(sphinxWarningCount(fixture("sphinx-warnings.txt"))).toBe(7);
    expect(sphinxWarningCount(fixture("sphinx-keep-going.txt"))).toBe(7);
    expect(sphinxWarningCount(fixture("sphinx-clean.txt"))).toBe(0);
    expect(sphinxWarningCount("…\nbuild succeeded, 1 warning.\n\nThe HTML pages are in _build.\n")).toBe(1);
    expect(sphinxWarningCount("\x1b[01mbuild finished with problems, 2 warnings.\x1b[39;49;00m\n")).toBe(2);
  });

  it("is undefined when Sphinx stopped before its summary", () => {
    expect(sphinxWarningCount(fixture("sphinx-treated-as-error.txt"))).toBeUndefined();
    expect(sphinxWarningCount(fixture("sphinx-exception.txt"))).toBeUndefined();
  });
});
