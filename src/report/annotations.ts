import type { Diagnostic, StepResult, TestCaseResult } from "../pipeline/types.js";
import { truncate } from "../text/truncate.js";
import { testLabel } from "./test-label.js";

/**
 * A check-run annotation, in GitHub's shape. Paths are relative to the
 * repository root. GitHub shows its title and message as plain text, not
 * Markdown: they are not escaped, only cut to GitHub's limits.
 */
export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
  raw_details?: string;
}

const MAX_DETAILS = 64 * 1024 - 1;

/**
 * Every diagnostic (pyright's, Sphinx's) and every failing or erroring
 * test, at its file:line; a test that failed only in parallel as a warning. Errors a step does not enforce (type errors
 * without pyright configuration) are warnings: shown, not failing.
 */
export function annotationsFor(steps: StepResult[]): Annotation[] {
  const annotations: Annotation[] = [];
  for (const step of steps) {
    const tool = TOOL[step.name] ?? step.name;
    for (const d of step.diagnostics ?? []) {
      const annotation = fromDiagnostic(d, step.enforced ?? true, tool);
      if (annotation) annotations.push(annotation);
    }
    for (const t of step.tests ?? []) {
      const annotation = fromTest(t);
      if (annotation) annotations.push(annotation);
    }
  }
  return annotations;
}

/** Which tool a step's diagnostics come from, for annotation titles. */
const TOOL: Record<string, string> = { check: "pyright", docs: "Sphinx" };

/**
 * A diagnostic at its place; none for one without a place (the summary
 * lists it). A syntax error's follow-ons are notices: shown, not counted.
 */
function fromDiagnostic(d: Diagnostic, enforced: boolean, tool: string): Annotation | undefined {
  if (d.file === undefined || d.line === undefined) return undefined;
  const level = d.followOn
    ? "notice"
    : d.severity === "error"
      ? d.syntax || enforced
        ? "failure"
        : "warning"
      : d.severity === "warning"
        ? "warning"
        : "notice";
  const column = d.column ?? 1;
  const sameLine = (d.endLine ?? d.line) === d.line;
  const title = d.followOn
    ? `Follow-on parse error (${tool}), not counted`
    : d.syntax
      ? "Syntax error"
      : `${tool}: ${d.rule && d.rule !== "sphinx" ? d.rule : d.severity}`;
  return {
    path: d.file,
    start_line: d.line,
    end_line: d.endLine ?? d.line,
    ...(sameLine ? { start_column: column, end_column: Math.max(column, d.endColumn ?? column) } : {}),
    annotation_level: level,
    title: truncate(title, 255),
    message: truncate(d.message, MAX_DETAILS),
  };
}

function fromTest(t: TestCaseResult): Annotation | undefined {
  if (t.onlyInParallel) return onlyInParallel(t);
  if (t.outcome !== "fail" && t.outcome !== "error" && t.outcome !== "unexpected_success") return undefined;
  if (!t.file || !t.line) return undefined;
  const verb = t.outcome === "fail" ? "failed" : t.outcome === "error" ? "errored" : "unexpectedly succeeded";
  return {
    path: t.file,
    start_line: t.line,
    end_line: t.line,
    annotation_level: "failure",
    title: truncate(`${testLabel(t)} ${verb}`, 255),
    message: truncate(t.message || `Test ${verb}`, MAX_DETAILS),
    ...(t.traceback ? { raw_details: truncate(t.traceback, MAX_DETAILS) } : {}),
  };
}

/** A test that failed beside the others and passed alone: a warning where it failed, not a failure. */
function onlyInParallel(t: TestCaseResult): Annotation | undefined {
  const failure = t.onlyInParallel;
  if (!failure?.file || !failure.line) return undefined;
  return {
    path: failure.file,
    start_line: failure.line,
    end_line: failure.line,
    annotation_level: "warning",
    title: truncate(`${testLabel(t)} fails only in parallel`, 255),
    message: truncate(
      `Failed when run beside other tests (test.parallel) and passed when run again alone: counted as passed. It probably shares state (files, ports, globals) with tests in another process.${failure.message ? `\n\n${failure.message}` : ""}`,
      MAX_DETAILS,
    ),
  };
}
