import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseSphinxWarnings } from "../../../src/pipeline/parsers/sphinx-warnings.js";

/**
 * Fixtures are the console output (stdout and stderr together, as pyci logs
 * it) of Debian's sphinx-build 5.3.0, with the repository's absolute path
 * replaced by <ROOT>. The repository of the warning fixtures:
 *
 *   docs/conf.py     html_static_path = ["_static"] (missing), autodoc, sys.path += ".."
 *   docs/index.rst   toctree (usage, levels), :ref:`nope` (line 9), automodule pkg.mod,
 *                    `.. unknown-directive:: x` (line 14)
 *   docs/usage.rst   `broken link`_ (line 4)
 *   docs/levels.rst  = - ~ = then ~ (line 13: "Title level inconsistent")
 *   docs/orphan.rst  in no toctree
 *   pkg/mod.py       a docstring with an unclosed *emphasis
 *
 * sphinx-warnings.txt          sphinx-build -b html docs _build          (exit 0, "7 warnings")
 * sphinx-keep-going.txt        the same with -W --keep-going            (exit 1, "7 warnings")
 * sphinx-treated-as-error.txt  -W, html_static_path removed from conf.py (exit 2)
 * sphinx-clean.txt             a one-page project without problems      (exit 0)
 */
function fixture(name: string, root: string): string {
  return readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8").replaceAll(
    "<ROOT>",
    root,
  );
}

const ROOT = "/srv/pyci/work/acme-docs";

const WARNINGS = [
  [undefined, undefined, "warning", "html_static_path entry '_static' does not exist"],
  ["pkg/mod.py", 1, "warning", "In the docstring of pkg.mod, line 1: Inline emphasis start-string without end-string."],
  ["docs/index.rst", 14, "error", 'Unknown directive type "unknown-directive".'],
  ["docs/levels.rst", 13, "error", "Title level inconsistent:"],
  ["docs/usage.rst", 4, "error", 'Unknown target name: "broken link".'],
  ["docs/orphan.rst", 1, "warning", "document isn't included in any toctree"],
  ["docs/index.rst", 9, "warning", "undefined label: 'nope'"],
];

describe("parseSphinxWarnings", () => {
  it("reads every WARNING, ERROR and CRITICAL of a build, as many as Sphinx counts, an unlocated one without a place", () => {
    const output = fixture("sphinx-warnings.txt", ROOT);
    expect(output).toContain("build succeeded, 7 warnings.");
    const diagnostics = parseSphinxWarnings(output, ROOT);
    expect(diagnostics.map((d) => [d.file, d.line, d.severity, d.message])).toEqual(WARNINGS);
    expect(diagnostics[6]).toEqual({
      file: "docs/index.rst",
      line: 9,
      column: 1,
      severity: "warning",
      rule: "sphinx",
      message: "undefined label: 'nope'",
      syntax: false,
    });
  });

  it("reads the same warnings from a -W --keep-going build", () => {
    const output = fixture("sphinx-keep-going.txt", ROOT);
    expect(output).toContain("build finished with problems, 7 warnings.");
    expect(parseSphinxWarnings(output, ROOT).map((d) => [d.file, d.line, d.severity, d.message])).toEqual(WARNINGS);
  });

  it("reads the warning that -W turned into an error", () => {
    expect(parseSphinxWarnings(fixture("sphinx-treated-as-error.txt", ROOT), ROOT)).toEqual([
      {
        file: "pkg/mod.py",
        line: 1,
        column: 1,
        severity: "warning",
        rule: "sphinx",
        message: "In the docstring of pkg.mod, line 1: Inline emphasis start-string without end-string.",
        syntax: false,
      },
    ]);
  });

  it("finds nothing in a clean build", () => {
    expect(parseSphinxWarnings(fixture("sphinx-clean.txt", ROOT), ROOT)).toEqual([]);
  });

  it("reads -W's error for a location with a line, without one, and without a location", () => {
    const raised = (line: string) => `Running Sphinx v5.3.0\n\nWarning, treated as error:\n${line}\n`;
    const read = (line: string) =>
      parseSphinxWarnings(raised(line), ROOT).map((d) => [d.file, d.line, d.severity, d.message]);
    expect(read(`${ROOT}/docs/index.rst:8:undefined label: 'nope'`)).toEqual([
      ["docs/index.rst", 8, "warning", "undefined label: 'nope'"],
    ]);
    expect(read(`${ROOT}/docs/orphan.rst::document isn't included in any toctree`)).toEqual([
      ["docs/orphan.rst", 1, "warning", "document isn't included in any toctree"],
    ]);
    expect(read(`${ROOT}/docs/orphan.rst:document isn't included in any toctree`)).toEqual([
      ["docs/orphan.rst", 1, "warning", "document isn't included in any toctree"],
    ]);
    expect(read("docs/api.rst:3:duplicate object description of pkg.f")).toEqual([
      ["docs/api.rst", 3, "warning", "duplicate object description of pkg.f"],
    ]);
    expect(read(`${ROOT}/pkg/mod.py:docstring of pkg.mod.func:3:Unexpected indentation.`)).toEqual([
      ["pkg/mod.py", 1, "warning", "In the docstring of pkg.mod.func, line 3: Unexpected indentation."],
    ]);
    expect(read("html_static_path entry '_static' does not exist")).toEqual([
      [undefined, undefined, "warning", "html_static_path entry '_static' does not exist"],
    ]);
    expect(read("unknown config value: 'x' in override, ignoring")).toEqual([
      [undefined, undefined, "warning", "unknown config value: 'x' in override, ignoring"],
    ]);
  });

  it("reads locations that newer Sphinx versions and extensions print", () => {
    const output = [
      // Sphinx 7.3+ prints paths relative to its working directory (the checkout) and a [type.subtype] suffix.
      "docs/index.rst:12: WARNING: undefined label: 'nope' [ref.ref]",
      // A progress message's items can precede a warning on its line.
      `generating indices... genindex ${ROOT}/docs/api.rst:7: WARNING: duplicate label api`,
      // Colour, when a terminal is forced.
      `\x1b[91m${ROOT}/docs/a.rst:2: WARNING: red\x1b[39;49;00m`,
      "<unknown>:5: ERROR: nowhere in particular",
      "/usr/lib/python3/dist-packages/requests/api.py:docstring of requests.api.get:4: WARNING: outside",
      `${ROOT}/docs/b.rst:: WARNING: no line`,
      "reading sources... [ 50%] index",
      "Some text that mentions WARNING without the colon",
    ].join("\n");
    expect(parseSphinxWarnings(output, ROOT).map((d) => [d.file, d.line, d.severity, d.message])).toEqual([
      ["docs/index.rst", 12, "warning", "undefined label: 'nope' [ref.ref]"],
      ["docs/api.rst", 7, "warning", "duplicate label api"],
      ["docs/a.rst", 2, "warning", "red"],
      [undefined, undefined, "error", "<unknown>:5: nowhere in particular"],
      [
        undefined,
        undefined,
        "warning",
        "/usr/lib/python3/dist-packages/requests/api.py:docstring of requests.api.get:4: outside",
      ],
      ["docs/b.rst", 1, "warning", "no line"],
    ]);
  });
});
