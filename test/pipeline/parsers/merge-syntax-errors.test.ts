import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mergeSyntaxErrors } from "../../../src/pipeline/parsers/merge-syntax-errors.js";
import { parsePyrightOutput } from "../../../src/pipeline/parsers/pyright-output.js";
import { parsePythonSyntaxErrors } from "../../../src/pipeline/parsers/python-syntax-errors.js";
import type { Diagnostic } from "../../../src/pipeline/types.js";

/**
 * pyright-python-only.json and pyci-syntax-python-only.json are pyright
 * 1.1.414 and python/pyci_syntax.py (CPython 3.11) run on one repository:
 *   annotated_global.py  def g(): global y; y: int = 1      (pyright: nothing)
 *   debug.py             __debug__ = 1                      (pyright: a type error, same line)
 *   escape.py            name = "\N{NO SUCH NAME}"          (pyright: nothing)
 *   kwargs.py            f(x=1, x=2) on line 5              (pyright: a type error, same line)
 *   octal.py             mode = 0777; os.chmod("x", mode)   (pyright: a type error, next line)
 *   starred.py           x = *a                             (pyright: a syntax error and a type error)
 * pyright-syntax.json with pyci-syntax-syntax.json is the same for the
 * repository described in pyright-output.test.ts. (pyci_syntax.py's output
 * then was the list alone; it is wrapped in its present {python, errors}.)
 */
function fixture(name: string): string {
  return readFileSync(new URL(`../../fixtures/tool-output/${name}`, import.meta.url), "utf8").replaceAll(
    "<ROOT>",
    "/repo",
  );
}

describe("parsePythonSyntaxErrors", () => {
  it("reads pyci_syntax.py's list as syntax errors", () => {
    const { python, errors } = parsePythonSyntaxErrors(fixture("pyci-syntax-python-only.json"));
    expect(python).toBe("3.11.7");
    expect(errors).toHaveLength(6);
    expect(errors[1]).toEqual({
      file: "debug.py",
      line: 1,
      column: 1,
      severity: "error",
      rule: "syntax",
      message: "cannot assign to __debug__",
      syntax: true,
    });
  });

  it("rejects output that is not the helper's list", () => {
    expect(() => parsePythonSyntaxErrors("Traceback (most recent call last):")).toThrow(
      /^pyci_syntax.py's output is not valid JSON/,
    );
    expect(() => parsePythonSyntaxErrors("[]")).toThrow(
      "pyci_syntax.py's output is not an object with python and errors",
    );
    expect(() => parsePythonSyntaxErrors('{"python": "3.11.7", "errors": [{"file": "a.py", "line": 1}]}')).toThrow(
      "pyci_syntax.py's entry #1 lacks file, line, column or message",
    );
  });
});

describe("mergeSyntaxErrors", () => {
  it("adds what only Python reports, replaces pyright's type error on the same line, and counts Python's error of a file pyright also finds broken", () => {
    const pyright = parsePyrightOutput(fixture("pyright-python-only.json"), "/repo").diagnostics;
    const python = parsePythonSyntaxErrors(fixture("pyci-syntax-python-only.json"));
    const merged = mergeSyntaxErrors(pyright, python);
    const rows = merged.map((d) => [d.file, d.line, d.column, d.rule, d.syntax, d.message.split("\n")[0]]);
    expect(merged.map((d) => d.followOn ?? false)).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
      false,
    ]);
    expect(rows).toEqual([
      ["annotated_global.py", 3, 5, "syntax", true, "annotated name 'y' can't be global"],
      ["debug.py", 1, 1, "syntax", true, "cannot assign to __debug__"],
      [
        "escape.py",
        1,
        26,
        "syntax",
        true,
        "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-15: unknown Unicode character name",
      ],
      ["kwargs.py", 5, 8, "syntax", true, "keyword argument repeated: x"],
      [
        "octal.py",
        3,
        8,
        "syntax",
        true,
        "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
      ],
      [
        "octal.py",
        4,
        15,
        "reportArgumentType",
        false,
        'Argument of type "float" cannot be assigned to parameter "mode" of type "int" in function "chmod"',
      ],
      ["starred.py", 1, 5, "syntax", true, "can't use starred expression here"],
      ["starred.py", 1, 5, "syntax", true, "Unpack operation is not allowed in this context"],
      ["starred.py", 1, 6, "reportUndefinedVariable", false, '"a" is not defined'],
    ]);
  });

  it("counts one syntax error a file, where Python's compiler stops; pyright's others in it follow on", () => {
    const pyright = parsePyrightOutput(fixture("pyright-syntax.json"), "/repo").diagnostics;
    const python = parsePythonSyntaxErrors(fixture("pyci-syntax-syntax.json"));
    expect(python.errors).toHaveLength(4);
    const merged = mergeSyntaxErrors(pyright, python);
    const counted = merged.filter((d) => d.syntax && !d.followOn);
    expect(counted).toEqual(python.errors);
    const followOns = merged.filter((d) => d.followOn);
    expect(followOns).toEqual(pyright.filter((d) => d.syntax).map((d) => ({ ...d, followOn: true })));
    expect(merged.filter((d) => !d.syntax)).toEqual(pyright.filter((d) => !d.syntax));
  });

  it("counts the first of pyright's syntax errors in a file Python compiles", () => {
    const error = (line: number, message: string) => ({
      file: "a.py",
      line,
      column: 1,
      severity: "error" as const,
      rule: "syntax",
      message,
      syntax: true,
    });
    const merged = mergeSyntaxErrors([error(7, "second"), error(3, "first")], { python: "3.11.7", errors: [] });
    expect(merged).toEqual([error(3, "first"), { ...error(7, "second"), followOn: true }]);
  });

  it("says so when the interpreter is older than the syntax pyright names on Python's line", () => {
    const matchAt = (column: number, message: string, rule = "syntax") => ({
      file: "newer.py",
      line: 2,
      column,
      severity: "error" as const,
      rule,
      message,
      syntax: rule === "syntax",
    });
    const pyright = [matchAt(5, "Match statements require Python 3.10 or newer")];
    const python = { python: "3.8.18", errors: [matchAt(11, "invalid syntax")] };
    const counted = (merged: Diagnostic[]) => merged.find((d) => !d.followOn)?.message;
    expect(counted(mergeSyntaxErrors(pyright, python))).toBe(
      "invalid syntax (the interpreter is Python 3.8.18, older than this syntax: Match statements require Python 3.10 or newer)",
    );
    expect(counted(mergeSyntaxErrors(pyright, { ...python, python: "3.10.13" }))).toBe("invalid syntax");
  });

  it("keeps pyright's warnings on a line that Python cannot compile", () => {
    const warning = {
      file: "a.py",
      line: 2,
      column: 1,
      severity: "warning" as const,
      rule: "reportUnusedExpression",
      message: "Expression value is unused",
      syntax: false,
    };
    const python = parsePythonSyntaxErrors(
      '{"python": "3.11.7", "errors": [{"file": "a.py", "line": 2, "column": 3, "message": "invalid syntax"}]}',
    );
    expect(mergeSyntaxErrors([warning], python).map((d) => [d.column, d.rule])).toEqual([
      [1, "reportUnusedExpression"],
      [3, "syntax"],
    ]);
  });
});
