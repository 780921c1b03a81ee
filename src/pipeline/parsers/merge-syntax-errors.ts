import type { Diagnostic } from "../types.js";

/**
 * Merges Python's own syntax errors (one a file at most, from
 * python/pyci_syntax.py) into pyright's diagnostics, so that one mistake is
 * listed once, keyed by file and line:
 *
 * - pyright already reports a syntax error on that line: pyright's is kept.
 *   It has a range, it is what the developer's editor shows, and pyright
 *   often reports several errors on a broken line where Python reports the
 *   first only.
 * - otherwise Python's error is added, and pyright's non-syntax errors on
 *   that line are dropped. pyright checks such lines as if they were valid
 *   and words the same mistake as a type error that a configuration could
 *   switch off ("Expression cannot be assignment target" for `None = 1`,
 *   "Parameter "x" is already assigned" for `f(x=1, x=2)`); Python's message
 *   names the actual problem and is what an import of the file prints.
 *   pyright's warnings and information on that line are kept.
 *
 * A Python error on a line where pyright reports nothing, or in a file that
 * pyright does not analyse, is added as it is: it must fail the step.
 * The result is ordered by file, line and column.
 */
export function mergeSyntaxErrors(pyright: Diagnostic[], python: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => `${d.file}\0${d.line}`;
  const pyrightSyntaxLines = new Set(pyright.filter((d) => d.syntax).map(key));
  const added = python.filter((d) => !pyrightSyntaxLines.has(key(d)));
  const replacedLines = new Set(added.map(key));
  const kept = pyright.filter((d) => d.syntax || d.severity !== "error" || !replacedLines.has(key(d)));
  return [...kept, ...added].sort(
    (a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) || a.line - b.line || a.column - b.column,
  );
}
