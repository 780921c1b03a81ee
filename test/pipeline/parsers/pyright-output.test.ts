import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parsePyrightOutput } from "../../../src/pipeline/parsers/pyright-output.js";

/**
 * Fixtures are `pyright --outputjson` (1.1.414) run on small repositories,
 * with the repository's absolute path replaced by <ROOT> and the timings
 * zeroed. Their sources:
 *
 * pyright-clean.json   pkg/__init__.py (empty); pkg/calc.py: a typed add().
 * pyright-types.json   pkg/shapes.py: `def area(width: int, height: int) -> str: return width * height`,
 *                      `count: int = "three"`, `os.no_such_function()`, `import no_such_module`,
 *                      `width == 4` (warning), `reveal_type(width)` (information);
 *                      main.py: `print(area("1", 2))`.
 * pyright-syntax.json  pkg/broken.py: `total: int = "zero"`, `value = 1 +`, `print((1, 2`;
 *                      pkg/sub/indent.py: a dedent to a column no block started at;
 *                      pkg/sub/unindent.py: `    x = 1` then `y = 2`;
 *                      pkg/binder.py: `def g(a, a)` and a `break` outside a loop; pkg/fine.py.
 */
function fixture(name: string, root: string): string {
  return readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8").replaceAll(
    "<ROOT>",
    root,
  );
}

const ROOT = "/srv/pyci/work/acme-widgets";

describe("parsePyrightOutput", () => {
  it("reads a clean run: no diagnostics, the file count and pyright's version", () => {
    expect(parsePyrightOutput(fixture("pyright-clean.json", ROOT), ROOT)).toEqual({
      diagnostics: [],
      filesAnalyzed: 2,
      version: "1.1.414",
    });
  });

  it("keeps type errors with their rule, 1-based positions and relative paths", () => {
    const { diagnostics, filesAnalyzed } = parsePyrightOutput(fixture("pyright-types.json", ROOT), ROOT);
    expect(filesAnalyzed).toBe(3);
    expect(diagnostics[0]).toEqual({
      file: "main.py",
      line: 3,
      column: 12,
      endLine: 3,
      endColumn: 15,
      severity: "error",
      rule: "reportArgumentType",
      message:
        'Argument of type "Literal[\'1\']" cannot be assigned to parameter "width" of type "int" in function "area"\n\u00a0\u00a0"Literal[\'1\']" is not assignable to "int"',
      syntax: false,
    });
    expect(diagnostics.map((d) => [d.file, d.line, d.column, d.severity, d.rule, d.syntax])).toEqual([
      ["main.py", 3, 12, "error", "reportArgumentType", false],
      ["pkg/shapes.py", 5, 12, "error", "reportReturnType", false],
      ["pkg/shapes.py", 8, 14, "error", "reportAssignmentType", false],
      ["pkg/shapes.py", 9, 4, "error", "reportAttributeAccessIssue", false],
      ["pkg/shapes.py", 10, 8, "error", "reportMissingImports", false],
      ["pkg/shapes.py", 12, 1, "warning", "reportUnusedExpression", false],
      ["pkg/shapes.py", 13, 13, "information", "", false],
    ]);
    expect(diagnostics[6]?.message).toBe('Type of "width" is "Literal[3]"');
  });

  it("recognises parser, tokenizer and binder errors (errors without a rule) as syntax errors", () => {
    const { diagnostics, filesAnalyzed } = parsePyrightOutput(fixture("pyright-syntax.json", ROOT), ROOT);
    expect(filesAnalyzed).toBe(5);
    expect(diagnostics.map((d) => [d.file, d.line, d.column, d.rule, d.syntax, d.message])).toEqual([
      ["pkg/binder.py", 1, 10, "syntax", true, 'Duplicate parameter "a"'],
      ["pkg/binder.py", 5, 1, "syntax", true, '"break" can be used only within a loop'],
      [
        "pkg/broken.py",
        1,
        14,
        "reportAssignmentType",
        false,
        'Type "Literal[\'zero\']" is not assignable to declared type "int"\n\u00a0\u00a0"Literal[\'zero\']" is not assignable to "int"',
      ],
      ["pkg/broken.py", 2, 12, "syntax", true, "Expected expression"],
      ["pkg/broken.py", 3, 6, "syntax", true, '"(" was not closed'],
      ["pkg/broken.py", 3, 7, "syntax", true, '"(" was not closed'],
      ["pkg/broken.py", 4, 1, "syntax", true, "Statements must be separated by newlines or semicolons"],
      ["pkg/sub/indent.py", 3, 3, "syntax", true, "Unindent amount does not match previous indent"],
      ["pkg/sub/unindent.py", 1, 1, "syntax", true, "Unexpected indentation"],
      ["pkg/sub/unindent.py", 2, 1, "syntax", true, "Unindent not expected"],
    ]);
    expect(diagnostics[3]).toMatchObject({ severity: "error", endLine: 3, endColumn: 1 });
  });

  it("does not take pyright's internal errors for syntax errors", () => {
    const data = JSON.parse(fixture("pyright-syntax.json", ROOT)) as { generalDiagnostics: { message: string }[] };
    const first = data.generalDiagnostics[0];
    if (!first) throw new Error("fixture has no diagnostics");
    first.message = `An internal error occurred while type checking file "${ROOT}/pkg/binder.py": Maximum call stack size exceeded`;
    const [diagnostic] = parsePyrightOutput(JSON.stringify(data), ROOT).diagnostics;
    expect(diagnostic).toMatchObject({ file: "pkg/binder.py", severity: "error", rule: "", syntax: false });
  });

  it("keeps the absolute path of a file outside the repository", () => {
    const { diagnostics } = parsePyrightOutput(fixture("pyright-types.json", "/opt/shared-lib"), ROOT);
    expect(diagnostics[0]?.file).toBe("/opt/shared-lib/main.py");
    expect(diagnostics[1]?.file).toBe("/opt/shared-lib/pkg/shapes.py");
  });

  it("makes paths relative to a root given with a trailing slash", () => {
    const { diagnostics } = parsePyrightOutput(fixture("pyright-types.json", ROOT), `${ROOT}/`);
    expect(diagnostics[1]?.file).toBe("pkg/shapes.py");
  });

  it("rejects output that is not pyright's JSON with a clear error", () => {
    expect(() => parsePyrightOutput("", ROOT)).toThrow(
      "pyright's output is not valid JSON (Unexpected end of JSON input); it is empty",
    );
    expect(() => parsePyrightOutput("Error: something broke\n{", ROOT)).toThrow(
      /^pyright's output is not valid JSON \(.*\); it starts with: Error: something broke/,
    );
    expect(() => parsePyrightOutput("[]", ROOT)).toThrow("pyright's JSON output has no generalDiagnostics list");
    expect(() => parsePyrightOutput('{"generalDiagnostics": []}', ROOT)).toThrow(
      "pyright's JSON output has no summary.filesAnalyzed count",
    );
    const truncated = fixture("pyright-types.json", ROOT).replace(/"range": \{/, '"nowhere": {');
    expect(() => parsePyrightOutput(truncated, ROOT)).toThrow(
      "pyright diagnostic #1 has no range.start line and character",
    );
  });
});
