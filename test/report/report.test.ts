import { describe, expect, it } from "vitest";
import type { StepResult } from "../../src/pipeline/types.js";
import { annotationsFor } from "../../src/report/annotations.js";
import { logTailText } from "../../src/report/log-tail-text.js";
import { buildTitle, checkConclusion, statusState } from "../../src/report/state-map.js";
import { MAX_OUTPUT_CHARS, summaryMarkdown } from "../../src/report/summary-markdown.js";

const check: StepResult = {
  name: "check",
  state: "failure",
  summary: "1 syntax error; 1 type error not enforced",
  exitCode: 1,
  durationMs: 2300,
  enforced: false,
  diagnostics: [
    {
      file: "pkg/a.py",
      line: 3,
      column: 5,
      severity: "error",
      rule: "syntax",
      message: "Expected expression",
      syntax: true,
    },
    {
      file: "pkg/b.py",
      line: 10,
      column: 1,
      endLine: 10,
      endColumn: 9,
      severity: "error",
      rule: "reportAssignmentType",
      message: "str is not int",
      syntax: false,
    },
    {
      file: "pkg/c.py",
      line: 2,
      column: 1,
      severity: "warning",
      rule: "reportUnusedImport",
      message: "unused",
      syntax: false,
    },
  ],
};
const test: StepResult = {
  name: "test",
  state: "failure",
  summary: "1 failure in 3 tests",
  exitCode: 1,
  durationMs: 900,
  tests: [
    { id: "t.T.test_ok", outcome: "pass", durationMs: 5 },
    {
      id: "t.T.test_bad",
      outcome: "fail",
      durationMs: 40,
      message: "AssertionError: 1 != 2",
      traceback: 'Traceback (most recent call last):\n  File "t.py", line 8\nAssertionError: 1 != 2',
      file: "t.py",
      line: 8,
    },
    { id: "t.T.test_skip", outcome: "skip", durationMs: 0, message: "later" },
  ],
};

describe("annotationsFor", () => {
  it("marks syntax errors as failures, unenforced type errors as warnings, failing tests at file:line", () => {
    const annotations = annotationsFor([check, test]);
    expect(annotations).toEqual([
      {
        path: "pkg/a.py",
        start_line: 3,
        end_line: 3,
        start_column: 5,
        end_column: 5,
        annotation_level: "failure",
        title: "Syntax error",
        message: "Expected expression",
      },
      {
        path: "pkg/b.py",
        start_line: 10,
        end_line: 10,
        start_column: 1,
        end_column: 9,
        annotation_level: "warning",
        title: "pyright: reportAssignmentType",
        message: "str is not int",
      },
      {
        path: "pkg/c.py",
        start_line: 2,
        end_line: 2,
        start_column: 1,
        end_column: 1,
        annotation_level: "warning",
        title: "pyright: reportUnusedImport",
        message: "unused",
      },
      {
        path: "t.py",
        start_line: 8,
        end_line: 8,
        annotation_level: "failure",
        title: "t.T.test_bad failed",
        message: "AssertionError: 1 != 2",
        raw_details: test.tests![1]!.traceback,
      },
    ]);
  });

  it("makes type errors failures when they are enforced", () => {
    const [, typeError] = annotationsFor([{ ...check, enforced: true }]);
    expect(typeError!.annotation_level).toBe("failure");
  });
});

describe("summaryMarkdown", () => {
  it("lists the steps, the failing tests with their traceback, problems and the build link", () => {
    const md = summaryMarkdown([check, test], "https://ci.example.com/builds/abc");
    expect(md).toContain("| check | ❌ failure | 2.3 s | 1 syntax error; 1 type error not enforced |");
    expect(md).toContain("### Failing tests (1)");
    expect(md).toContain("**t.T.test_bad** (failed) at t.py:8");
    expect(md).toContain("AssertionError: 1 != 2");
    expect(md).toContain("- pkg/a.py:3:5 syntax error: Expected expression");
    expect(md).toContain("- pkg/b.py:10:1 error (not enforced): str is not int (reportAssignmentType)");
    expect(md).toContain("| t.T.test_bad | 40 ms |");
    expect(md).toContain("[Full output of every step](https://ci.example.com/builds/abc)");
  });

  it("says which steps reused an earlier build's result", () => {
    const md = summaryMarkdown([
      { ...check, reused: { buildId: "Un9kJhxlY865yn3iiqw2LQ", createdAt: "2026-11-27T10:05:09.000Z" } },
      test,
    ]);
    expect(md).toMatch(
      /\| check \|[^\n]*\(reused: same tree, tools and configuration as a build of 2026-11-27 10:05 UTC\) \|/,
    );
    expect(md).not.toMatch(/\| test \|[^\n]*reused/);
  });

  it("says what to do about a failure a step understood, after the table", () => {
    const install: StepResult = {
      name: "install",
      state: "failure",
      summary:
        "pip install -r requirements.txt failed with exit code 1: No matching distribution found for furo>=2025.07.19",
      advice: "Ship wheels_ in the repository",
      exitCode: 1,
      durationMs: 900,
    };
    expect(summaryMarkdown([install])).toContain(
      "|\n\n### What to do\n\n- **install**: Ship wheels\\_ in the repository",
    );
    expect(summaryMarkdown([check])).not.toContain("What to do");
  });

  it("stays within GitHub's 65535 characters however many tests fail", () => {
    const many: StepResult = {
      ...test,
      tests: Array.from({ length: 5000 }, (_, i) => ({
        id: `t.T.test_${i}`,
        outcome: "fail" as const,
        durationMs: 1,
        traceback: "x".repeat(2000),
      })),
    };
    expect(summaryMarkdown([many]).length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
  });
});

describe("state map", () => {
  it("keeps failure and error apart on statuses and concludes check runs", () => {
    expect(statusState("failure")).toBe("failure");
    expect(statusState("error")).toBe("error");
    expect(statusState("skipped")).toBe("success");
    expect(checkConclusion([{ ...test, state: "success" }])).toBe("success");
    expect(checkConclusion([{ ...test, state: "error" }])).toBe("failure");
    expect(buildTitle([check, test])).toBe(
      "check: 1 syntax error; 1 type error not enforced; test: 1 failure in 3 tests",
    );
  });
});

describe("logTailText", () => {
  it("keeps the end of every step's log within the limit, without ANSI codes", () => {
    const long = Array.from({ length: 20000 }, (_, i) => `\u001b[31mline ${i}\u001b[0m`).join("\n");
    const text = logTailText([
      { step: "check", text: long },
      { step: "test", text: "short\n" },
    ]);
    expect(text.length).toBeLessThanOrEqual(MAX_OUTPUT_CHARS);
    expect(text).toContain("line 19999");
    expect(text).not.toContain("line 0\n");
    expect(text).not.toContain("\u001b[");
    expect(text).toContain("#### test\n```\nshort\n```");
  });
});
