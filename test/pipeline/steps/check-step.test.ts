import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkStep } from "../../../src/pipeline/steps/check.js";
import type { RepoConfig, StepResult } from "../../../src/pipeline/types.js";
import { makeRepo } from "../../support/git-repo.js";

const scratchRoot = mkdtempSync(join(tmpdir(), "pyci-check-"));
/** The interpreter behind `python3` (a pyenv shim here); the tests use it directly, which is faster. */
const PYTHON = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }));

interface Checked {
  result: StepResult;
  log: string;
}

async function check(
  files: Record<string, string>,
  options: { enforceTypeErrors?: boolean; python?: string; timeoutMs?: number } = {},
): Promise<Checked> {
  const repo = makeRepo(files, { dir: mkdtempSync(join(scratchRoot, "repo-")) });
  const repoConfig: RepoConfig = {
    check: { enforceTypeErrors: options.enforceTypeErrors },
    test: { startDir: ".", pattern: "test*.py" },
    install: [],
  };
  const parts: string[] = [];
  const result = await checkStep.run({
    dir: repo.dir,
    repoConfig,
    python: options.python ?? PYTHON,
    scratchDir: mkdtempSync(join(scratchRoot, "scratch-")),
    timeoutMs: options.timeoutMs ?? 60_000,
    sandbox: { kind: "off" as const, hidden: [], readable: [], writable: [] },
    log: { write: (text) => parts.push(text) },
  });
  return { result, log: parts.join("") };
}

const CLEAN = {
  "calc/__init__.py": "",
  "calc/ops.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
};
/** One reportReturnType error at 2:12. */
const TYPE_ERROR = {
  "calc/__init__.py": "",
  "calc/ops.py": "def half(n: int) -> str:\n    return n // 2\n",
};

// Each test has its own repository and scratch directory.
describe.concurrent("checkStep", () => {
  it("succeeds on a clean repository and logs a readable listing", async () => {
    const { result, log } = await check(CLEAN, { python: "python3" });
    expect(result).toMatchObject({
      name: "check",
      state: "success",
      summary: "No problems in 2 files",
      exitCode: 0,
      enforced: false,
      diagnostics: [],
    });
    expect(log.split("\n")[0]).toBe(`$ pyright --outputjson --pythonpath ${PYTHON}`);
    expect(log).toContain(
      "0 syntax errors, 0 type errors (not enforced), 0 warnings, 0 information in 2 files (pyright 1.1.414)\n",
    );
    expect(log).not.toContain("generalDiagnostics");
  });

  it("fails on a syntax error, whatever the configuration, at the right place", async () => {
    const { result, log } = await check(
      { ...CLEAN, "calc/broken.py": "def ok() -> int:\n    return 1\n\nvalue = ok() +\n" },
      { enforceTypeErrors: false },
    );
    expect(result).toMatchObject({ state: "failure", summary: "1 syntax error", enforced: false, exitCode: 1 });
    // Python's compiler stops here: its error counts; pyright's at the same place follows on.
    expect(result.diagnostics).toEqual([
      {
        file: "calc/broken.py",
        line: 4,
        column: 15,
        severity: "error",
        rule: "syntax",
        message: "invalid syntax",
        syntax: true,
      },
      {
        file: "calc/broken.py",
        line: 4,
        column: 15,
        endLine: 5,
        endColumn: 1,
        severity: "error",
        rule: "syntax",
        message: "Expected expression",
        syntax: true,
        followOn: true,
      },
    ]);
    expect(log).toContain("calc/broken.py:4:15 - error: invalid syntax (syntax)\n");
    expect(log).toContain("calc/broken.py:4:15 - follow-on parse error (not counted): Expected expression (syntax)\n");
    expect(log).toContain(
      "1 syntax error (and 1 follow-on parse error, not counted), 0 type errors (not enforced), 0 warnings, 0 information in 3 files (pyright 1.1.414)\n",
    );
  });

  it("reports type errors without failing when the repository does not configure pyright", async () => {
    const { result, log } = await check(TYPE_ERROR);
    expect(result).toMatchObject({
      state: "success",
      summary: "1 type error not enforced",
      enforced: false,
      exitCode: 1,
    });
    expect(result.diagnostics).toHaveLength(1);
    expect(result.diagnostics?.[0]).toMatchObject({
      file: "calc/ops.py",
      line: 2,
      column: 12,
      severity: "error",
      rule: "reportReturnType",
      syntax: false,
    });
    expect(result.diagnostics?.[0]?.message).toMatch(/^Type "int" is not assignable to return type "str"/);
    expect(log).toContain('calc/ops.py:2:12 - error: Type "int" is not assignable to return type "str"\n');
    expect(log).toContain('is not assignable to "str" (reportReturnType)\n');
    expect(log).toContain(
      "0 syntax errors, 1 type error (not enforced), 0 warnings, 0 information in 2 files (pyright 1.1.414)\n",
    );
  });

  it("enforces type errors when the repository has a pyrightconfig.json", async () => {
    const { result } = await check({ ...TYPE_ERROR, "pyrightconfig.json": '{ "include": ["calc"] }\n' });
    expect(result).toMatchObject({ state: "failure", summary: "1 type error", enforced: true });
    expect(result.diagnostics?.[0]).toMatchObject({ file: "calc/ops.py", line: 2, rule: "reportReturnType" });
  });

  it("enforces type errors when pyproject.toml has a [tool.pyright] table, and honours it", async () => {
    const pyproject = '[project]\nname = "calc"\n\n[tool.pyright]\nreportUnusedExpression = "error"\n';
    const { result } = await check({ ...TYPE_ERROR, "calc/noise.py": "x = 1\nx == 2\n", "pyproject.toml": pyproject });
    expect(result).toMatchObject({ state: "failure", summary: "2 type errors", enforced: true });
    expect(result.diagnostics?.map((d) => [d.file, d.line, d.severity, d.rule])).toEqual([
      ["calc/noise.py", 2, "error", "reportUnusedExpression"],
      ["calc/ops.py", 2, "error", "reportReturnType"],
    ]);
  });

  it("lets the repository's pyci settings override enforcement both ways", async () => {
    const forced = await check(TYPE_ERROR, { enforceTypeErrors: true });
    expect(forced.result).toMatchObject({ state: "failure", summary: "1 type error", enforced: true });
    const waived = await check({ ...TYPE_ERROR, "pyrightconfig.json": "{}\n" }, { enforceTypeErrors: false });
    expect(waived.result).toMatchObject({ state: "success", summary: "1 type error not enforced", enforced: false });
    expect(waived.result.diagnostics?.[0]?.rule).toBe("reportReturnType");
  });

  it("fails on syntax errors that only Python's compiler reports", async () => {
    const { result, log } = await check(
      {
        ...CLEAN,
        "calc/names.py": 'ARROW = "\\N{NO SUCH CHARACTER}"\n',
        "calc/scope.py": "def reset() -> None:\n    global total\n    total: int = 0\n",
      },
      { enforceTypeErrors: true },
    );
    expect(result).toMatchObject({ state: "failure", summary: "2 syntax errors", enforced: true, exitCode: 0 });
    expect(result.diagnostics).toEqual([
      {
        file: "calc/names.py",
        line: 1,
        column: 32,
        severity: "error",
        rule: "syntax",
        message:
          "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-20: unknown Unicode character name",
        syntax: true,
      },
      {
        file: "calc/scope.py",
        line: 3,
        column: 5,
        severity: "error",
        rule: "syntax",
        message: "annotated name 'total' can't be global",
        syntax: true,
      },
    ]);
    expect(log).toContain("calc/scope.py:3:5 - error: annotated name 'total' can't be global (syntax)\n");
  });

  it("counts syntax errors, type errors and warnings of one run apart", async () => {
    const { result } = await check({
      "app/__init__.py": "",
      // pyright: 3 syntax errors on line 2 (two unclosed parentheses, a missing newline at the end);
      // Python stops at the first: one syntax error, pyright's three its follow-ons.
      "app/broken.py": "import os\nprint((os.sep\n",
      // pyright: a type error; Python: `__debug__ = 1` cannot compile, which replaces pyright's type error on line 3.
      "app/flags.py": 'level: int = "high"\n\n__debug__ = 1\n',
      // pyright: a warning.
      "app/noise.py": "x = 1\nx == 2\n",
    });
    expect(result.summary).toBe("2 syntax errors; 1 type error not enforced; 1 warning");
    expect(result.state).toBe("failure");
    expect(result.diagnostics?.map((d) => [d.file, d.line, d.column, d.severity, d.rule, d.followOn ?? false])).toEqual(
      [
        ["app/broken.py", 2, 6, "error", "syntax", true],
        ["app/broken.py", 2, 7, "error", "syntax", false],
        ["app/broken.py", 2, 7, "error", "syntax", true],
        ["app/broken.py", 3, 1, "error", "syntax", true],
        ["app/flags.py", 1, 14, "error", "reportAssignmentType", false],
        ["app/flags.py", 3, 1, "error", "syntax", false],
        ["app/noise.py", 2, 1, "warning", "reportUnusedExpression", false],
      ],
    );
    expect(result.diagnostics?.[1]?.message).toBe("'(' was never closed");
    expect(result.diagnostics?.[5]?.message).toBe("cannot assign to __debug__");
  });

  it("ignores files in virtual environments, hidden directories and node_modules", async () => {
    const { result } = await check({
      ...CLEAN,
      "env/pyvenv.cfg": "home = /usr/bin\n",
      "env/lib/broken.py": "def (:\n",
      ".tox/broken.py": "def (:\n",
      "node_modules/pkg/broken.py": "def (:\n",
    });
    expect(result).toMatchObject({ state: "success", summary: "No problems in 2 files", diagnostics: [] });
  });

  it("resolves imports against the interpreter it is given", async () => {
    const venv = join(scratchRoot, "venv");
    execFileSync("python3", ["-m", "venv", "--without-pip", venv]);
    const python = join(venv, "bin", "python");
    const sitePackages = execFileSync(python, ["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], {
      encoding: "utf8",
    }).trim();
    mkdirSync(join(sitePackages, "pyci_probe"), { recursive: true });
    writeFileSync(join(sitePackages, "pyci_probe", "__init__.py"), "def probe() -> int:\n    return 1\n");
    const files = { "main.py": "from pyci_probe import probe\n\nlabel: str = probe()\n" };

    const inVenv = await check(files, { python });
    expect(inVenv.log).toContain(`--pythonpath ${python}\n`);
    expect(inVenv.result.diagnostics?.map((d) => [d.line, d.rule])).toEqual([[3, "reportAssignmentType"]]);

    const outside = await check(files);
    expect(outside.result.diagnostics?.map((d) => [d.line, d.rule])).toEqual([[1, "reportMissingImports"]]);
  });

  it("is an error when pyright cannot read the repository's configuration", async () => {
    const { result, log } = await check({ ...CLEAN, "pyrightconfig.json": "{ not json\n" });
    expect(result).toMatchObject({
      state: "error",
      summary: "pyright exited with code 3 (configuration error); see the log",
      exitCode: 3,
      enforced: true,
    });
    expect(log).toContain("pyrightconfig.json");
  });

  it("is an error when the interpreter does not exist", async () => {
    const { result } = await check(CLEAN, { python: "/nonexistent/bin/python3" });
    expect(result.state).toBe("error");
    expect(result.summary).toMatch(/^Could not start \/nonexistent\/bin\/python3: .*ENOENT/);
  });

  it("is an error when pyright times out", async () => {
    const { result } = await check(CLEAN, { timeoutMs: 1_000 });
    expect(result).toMatchObject({ state: "error", summary: "pyright timed out after 1s" });
  });
});
