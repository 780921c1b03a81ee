import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSphinxFatalError } from "../../../src/pipeline/parsers/sphinx-fatal-error.js";

/**
 * Console output of Debian's sphinx-build 5.3.0 (exit 2) on a repository
 * with docs/index.rst and a broken docs/conf.py; <ROOT> stands for the
 * repository's absolute path.
 *
 * sphinx-conf-syntax-error.txt  conf.py line 2 opens `extensions = [` and never closes it
 * sphinx-conf-exception.txt     conf.py line 3: `import demo_theme` (no such module)
 * sphinx-extension-error.txt    extensions = ["demo_ext"] (no such module)
 * sphinx-exception.txt          conf.py adds a directive whose run() (line 8) raises RuntimeError
 * sphinx-treated-as-error.txt   -W and a warning (see sphinx-warnings.test.ts)
 */
function fixture(name: string, root: string): string {
  return readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8").replaceAll(
    "<ROOT>",
    root,
  );
}

const ROOT = "/srv/pyci/work/acme-docs";

describe("parseSphinxFatalError", () => {
  it("reads a syntax error in conf.py, at its line", () => {
    expect(parseSphinxFatalError(fixture("sphinx-conf-syntax-error.txt", ROOT), ROOT, "docs")).toEqual({
      category: "Configuration error",
      message: "There is a syntax error in your configuration file: '[' was never closed (conf.py, line 2)",
      detail: "There is a syntax error in your configuration file: '[' was never closed (conf.py, line 2)",
      file: "docs/conf.py",
      line: 2,
    });
    expect(parseSphinxFatalError(fixture("sphinx-conf-syntax-error.txt", ROOT), ROOT, ".")).toMatchObject({
      file: "conf.py",
      line: 2,
    });
  });

  it("reads an exception raised by conf.py: the exception line, at the repository's innermost frame", () => {
    const fatal = parseSphinxFatalError(fixture("sphinx-conf-exception.txt", ROOT), ROOT, "docs");
    expect(fatal).toMatchObject({
      category: "Configuration error",
      detail: "ModuleNotFoundError: No module named 'demo_theme'",
      file: "docs/conf.py",
      line: 3,
    });
    expect(fatal?.message).toMatch(
      /^There is a programmable error in your configuration file:\n\nTraceback \(most recent call last\):\n/,
    );
    expect(fatal?.message).toMatch(/ModuleNotFoundError: No module named 'demo_theme'$/);
  });

  it("reads an extension error, which points nowhere", () => {
    expect(parseSphinxFatalError(fixture("sphinx-extension-error.txt", ROOT), ROOT, "docs")).toEqual({
      category: "Extension error",
      message: "Could not import extension demo_ext (exception: No module named 'demo_ext')",
      detail: "Could not import extension demo_ext (exception: No module named 'demo_ext')",
    });
  });

  it("reads an exception during the build without Sphinx's bug-report boilerplate", () => {
    expect(parseSphinxFatalError(fixture("sphinx-exception.txt", ROOT), ROOT, "docs")).toEqual({
      category: "Exception occurred",
      message: [
        `  File "${ROOT}/docs/conf.py", line 8, in run`,
        '    raise RuntimeError("the explode directive exploded")',
        "RuntimeError: the explode directive exploded",
      ].join("\n"),
      detail: "RuntimeError: the explode directive exploded",
      file: "docs/conf.py",
      line: 8,
    });
  });

  it("reads -W's heading, and nothing from builds that were not stopped", () => {
    expect(parseSphinxFatalError(fixture("sphinx-treated-as-error.txt", ROOT), ROOT, "docs")).toMatchObject({
      category: "Warning, treated as error",
      detail: `${ROOT}/pkg/mod.py:docstring of pkg.mod:1:Inline emphasis start-string without end-string.`,
    });
    for (const name of ["sphinx-warnings.txt", "sphinx-keep-going.txt", "sphinx-clean.txt"]) {
      expect(parseSphinxFatalError(fixture(name, ROOT), ROOT, "docs")).toBeUndefined();
    }
  });
});
