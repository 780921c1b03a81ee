import { isAbsolute, posix, relative, sep } from "node:path";
import type { Diagnostic, Severity } from "../types.js";

const SEVERITIES: Record<string, Severity> = { WARNING: "warning", ERROR: "error", CRITICAL: "error" };

/**
 * A logged warning: `<location>: LEVEL: message` or `LEVEL: message`,
 * possibly after a progress message that had not ended its line
 * ("checking consistency... /r/docs/orphan.rst: WARNING: document isn't
 * included in any toctree").
 */
const LOGGED = /^(?:.*?\.\.\. )?(?:(?<location>.+?): )?(?<level>WARNING|ERROR|CRITICAL): (?<message>.*)$/;
/** How `sphinx-build -W` (without --keep-going) reports the warning that stopped it. */
const TREATED_AS_ERROR = "Warning, treated as error:";
/**
 * The line after TREATED_AS_ERROR: `<location>:message` (no space, no
 * level), where a location is an absolute path, `<unknown>`, or a relative
 * path to a source file, then optionally `:docstring of x` and `:line`.
 */
const RAISED =
  /^(?<location>(?:\/|<unknown>)[^:]*|[^\s:][^:]*\.(?:rst|md|txt|py|pyi|ipynb|html|inc))(?<docstring>:docstring of [^:]+)?(?::(?<line>\d*))?:(?<message>.*)$/;
const DOCSTRING = /^(?<file>.*?):(?<docstring>docstring of [^:]+)$/;
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * Reads Sphinx's console output (stdout and stderr together) into
 * diagnostics, one per WARNING, ERROR or CRITICAL line, plus the warning
 * that `-W` turned into the fatal "Warning, treated as error:". Severity:
 * WARNING → warning; ERROR and CRITICAL (docutils' error and severe
 * reports) → error, whatever -W makes of them. Rule "sphinx"; column 1.
 *
 * Locations become paths relative to `repoRoot` (Sphinx prints absolute
 * paths; relative ones are relative to its working directory, the
 * checkout). A warning without a location (`WARNING: html_static_path
 * entry '_static' does not exist`), one at `<unknown>`, and one in a file
 * outside the repository (a docstring of an installed package) has no place
 * (no `file`): it is no file's fault, so it goes in the summary, not on a
 * line of conf.py; an outside location is kept in the message.
 * A warning in a docstring (`/r/pkg/mod.py:docstring of pkg.mod.f:3`) is
 * put on line 1 of that module; its line counts from the docstring's
 * start, so it goes into the message instead. Only a message's first line
 * is kept: docutils follows some with the offending source, which the
 * location already points at.
 */
export function parseSphinxWarnings(output: string, repoRoot: string): Diagnostic[] {
  const lines = output.replace(ANSI, "").split(/\r?\n/);
  const diagnostics: Diagnostic[] = [];
  lines.forEach((text, index) => {
    if (text.trim() === TREATED_AS_ERROR) {
      const raised = lines[index + 1] ?? "";
      const match = RAISED.exec(raised);
      const groups = match?.groups;
      if (!groups) {
        diagnostics.push(unlocated("warning", raised.trim()));
        return;
      }
      const location = `${groups.location ?? ""}${groups.docstring ?? ""}${groups.line ? `:${groups.line}` : ""}`;
      diagnostics.push(located(location, "warning", (groups.message ?? "").trim(), repoRoot));
      return;
    }
    const groups = LOGGED.exec(text)?.groups;
    if (!groups) return;
    const severity = SEVERITIES[groups.level ?? ""] ?? "warning";
    const message = (groups.message ?? "").trim();
    if (groups.location === undefined) diagnostics.push(unlocated(severity, message));
    else diagnostics.push(located(trimProgress(groups.location, repoRoot), severity, message, repoRoot));
  });
  return diagnostics;
}

/** "genindex /r/docs/a.rst:3" → "/r/docs/a.rst:3": a progress message's items can precede a location. */
function trimProgress(location: string, repoRoot: string): string {
  const inRepo = location.indexOf(`${repoRoot}/`);
  return inRepo > 0 ? location.slice(inRepo) : location;
}

function located(location: string, severity: Severity, message: string, repoRoot: string): Diagnostic {
  const lineMatch = /^(?<where>.*?):(?<line>\d*)$/.exec(location);
  const where = lineMatch?.groups?.where ?? location;
  const line = Number(lineMatch?.groups?.line) || undefined;
  const docstring = DOCSTRING.exec(where)?.groups;
  const path = docstring?.file ?? where;
  const file = path === "<unknown>" ? undefined : inRepository(path, repoRoot);
  if (file === undefined) return unlocated(severity, `${location}: ${message}`);
  if (docstring)
    return diagnostic(file, 1, severity, `In the ${docstring.docstring}${line ? `, line ${line}` : ""}: ${message}`);
  return diagnostic(file, line ?? 1, severity, message);
}

/** The path relative to the repository root with forward slashes, or undefined when it lies outside. */
function inRepository(path: string, repoRoot: string): string | undefined {
  const rel = isAbsolute(path) ? relative(repoRoot, path) : posix.normalize(path.split(sep).join("/"));
  if (rel === "" || rel.split(/[\\/]/)[0] === ".." || isAbsolute(rel)) return undefined;
  return rel.split(sep).join("/");
}

function diagnostic(file: string, line: number, severity: Severity, message: string): Diagnostic {
  return { file, line, column: 1, severity, rule: "sphinx", message, syntax: false };
}

function unlocated(severity: Severity, message: string): Diagnostic {
  return { severity, rule: "sphinx", message, syntax: false };
}
