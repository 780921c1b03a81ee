import { isAbsolute, relative, sep } from "node:path";
import type { Diagnostic, Severity } from "../types.js";

export interface PyrightOutput {
  diagnostics: Diagnostic[];
  filesAnalyzed: number;
  version: string;
}

const SEVERITIES: readonly Severity[] = ["error", "warning", "information"];

/**
 * pyright's own failures on one file ("An internal error occurred while
 * parsing file …", "Source file could not be read") carry no rule either,
 * but they are not the repository's syntax errors. English only: pyci runs
 * pyright with LC_ALL=C.UTF-8, which pyright maps to its default locale.
 */
const INTERNAL_ERROR = /^(An internal error occurred|Source file could not be read)/;

/**
 * Reads `pyright --outputjson`. Every diagnostic is kept (errors, warnings
 * and information), with 1-based positions and paths relative to `repoRoot`.
 *
 * Syntax errors: every check pyright makes has a rule (reportReturnType,
 * reportAttributeAccessIssue, …) that a configuration can turn off or down;
 * the tokenizer's, parser's and binder's errors ("Expected expression",
 * "\"(\" was not closed", "Unindent not expected", "\"break\" can be used
 * only within a loop", "Duplicate parameter \"a\"") have none, because no
 * setting can make broken code valid. So an error without a rule is a syntax
 * error, reported with rule "syntax"; pyright's internal errors are the
 * exception. Information without a rule (reveal_type) is just information.
 */
export function parsePyrightOutput(json: string, repoRoot: string): PyrightOutput {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    const start = json.trim().slice(0, 80);
    throw new Error(
      `pyright's output is not valid JSON (${(err as Error).message})${start ? `; it starts with: ${start}` : "; it is empty"}`,
    );
  }
  if (!isObject(data) || !Array.isArray(data.generalDiagnostics)) {
    throw new Error("pyright's JSON output has no generalDiagnostics list");
  }
  const summary = data.summary;
  if (!isObject(summary) || typeof summary.filesAnalyzed !== "number") {
    throw new Error("pyright's JSON output has no summary.filesAnalyzed count");
  }
  return {
    diagnostics: data.generalDiagnostics.map((raw, index) => toDiagnostic(raw, index, repoRoot)),
    filesAnalyzed: summary.filesAnalyzed,
    version: typeof data.version === "string" ? data.version : "unknown",
  };
}

function toDiagnostic(raw: unknown, index: number, repoRoot: string): Diagnostic {
  const where = `pyright diagnostic #${index + 1}`;
  if (!isObject(raw)) throw new Error(`${where} is not an object`);
  const { file, severity, message, rule, range } = raw;
  if (typeof file !== "string") throw new Error(`${where} has no file`);
  if (typeof message !== "string") throw new Error(`${where} has no message`);
  if (!SEVERITIES.includes(severity as Severity)) {
    throw new Error(`${where} has an unknown severity ${JSON.stringify(severity)}`);
  }
  const start = isObject(range) ? position(range.start) : undefined;
  if (!start) throw new Error(`${where} has no range.start line and character`);
  const end = isObject(range) ? position(range.end) : undefined;

  const hasRule = typeof rule === "string" && rule !== "";
  const syntax = severity === "error" && !hasRule && !INTERNAL_ERROR.test(message);
  return {
    file: relativePath(file, repoRoot),
    line: start.line + 1,
    column: start.character + 1,
    ...(end ? { endLine: end.line + 1, endColumn: end.character + 1 } : {}),
    severity: severity as Severity,
    rule: syntax ? "syntax" : hasRule ? rule : "",
    message,
    syntax,
  };
}

function position(value: unknown): { line: number; character: number } | undefined {
  if (!isObject(value)) return undefined;
  const { line, character } = value;
  if (typeof line !== "number" || typeof character !== "number") return undefined;
  return { line, character };
}

/** Relative with forward slashes; a file outside the repository keeps its absolute path. */
function relativePath(file: string, repoRoot: string): string {
  if (!isAbsolute(file)) return file.split(sep).join("/");
  const rel = relative(repoRoot, file);
  if (rel === "" || rel.split(sep)[0] === ".." || isAbsolute(rel)) return file;
  return rel.split(sep).join("/");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
