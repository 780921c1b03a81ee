import type { Diagnostic } from "../types.js";
import type { PythonSyntaxErrors } from "./python-syntax-errors.js";

/** pyright's word for syntax newer than the Python it checks for: "Match statements require Python 3.10 or newer". */
const NEWER_SYNTAX = /requires? Python (\d+)\.(\d+) or newer/;

/**
 * Merges Python's own syntax errors (from python/pyci_syntax.py) into
 * pyright's diagnostics, so that one mistake counts once: one syntax error
 * a file, where Python's compiler stops, the error an import of the file
 * raises and the one the author must fix.
 *
 * - A file Python cannot compile: Python's error is the file's syntax
 *   error, at Python's place, in Python's words. One typo (`def oops(:`)
 *   makes pyright's parser report several errors down the file ("(" was
 *   not closed, "Expected expression", …); every syntax error pyright
 *   reports in that file is kept as a follow-on (`followOn`): shown, never
 *   counted. Where pyright finds no syntax error on the line of Python's,
 *   its errors on that line are dropped: pyright checked the line as valid
 *   and words the mistake as a type error a configuration could switch off
 *   ("Expression cannot be assignment target" for `None = 1`). Its warnings
 *   and information are kept.
 * - When pyright says on that line that the syntax needs a newer Python
 *   than the interpreter's, Python's message says so: "invalid syntax" of a
 *   `match` under Python 3.8 is that, not a typo.
 * - A file only pyright finds broken (Python is the final word, but a
 *   file pyright cannot parse cannot be checked either): its first syntax
 *   error counts, the others are follow-ons.
 * - A Python error in a file that pyright does not analyse is added as it
 *   is: it must fail the step.
 *
 * The result is ordered by file, line and column, a counted error before
 * its follow-ons at the same place.
 */
export function mergeSyntaxErrors(pyright: Diagnostic[], python: PythonSyntaxErrors): Diagnostic[] {
  const stops = new Map(python.errors.map((d) => [d.file, d]));
  const firstOfFile = new Map<string, Diagnostic>();
  for (const d of [...pyright].sort(byPlace)) {
    if (d.syntax && d.file !== undefined && !stops.has(d.file) && !firstOfFile.has(d.file)) firstOfFile.set(d.file, d);
  }
  const key = (d: Diagnostic) => `${d.file}\0${d.line}`;
  const pyrightSyntaxLines = new Set(pyright.filter((d) => d.syntax).map(key));
  const wordedAsTypeErrors = new Set(python.errors.map(key).filter((line) => !pyrightSyntaxLines.has(line)));
  const kept = pyright.flatMap((d): Diagnostic[] => {
    if (d.syntax) return firstOfFile.get(d.file ?? "") === d ? [d] : [{ ...d, followOn: true }];
    if (d.severity === "error" && wordedAsTypeErrors.has(key(d))) return [];
    return [d];
  });
  const added = python.errors.map((stop) => withNewerSyntax(stop, pyright, python.python));
  return [...kept, ...added].sort(byPlace);
}

/** Python's error, saying so when pyright reports on its line syntax newer than the interpreter. */
function withNewerSyntax(stop: Diagnostic, pyright: Diagnostic[], version: string): Diagnostic {
  const [major = 0, minor = 0] = version.split(".").map(Number);
  for (const d of pyright) {
    if (!d.syntax || d.file !== stop.file || d.line !== stop.line) continue;
    const needs = NEWER_SYNTAX.exec(d.message);
    if (!needs) continue;
    const [wantMajor, wantMinor] = [Number(needs[1]), Number(needs[2])];
    if (wantMajor > major || (wantMajor === major && wantMinor > minor)) {
      return {
        ...stop,
        message: `${stop.message} (the interpreter is Python ${version}, older than this syntax: ${d.message})`,
      };
    }
  }
  return stop;
}

function byPlace(a: Diagnostic, b: Diagnostic): number {
  const [fa, fb] = [a.file ?? "", b.file ?? ""];
  return (
    (fa < fb ? -1 : fa > fb ? 1 : 0) ||
    (a.line ?? 0) - (b.line ?? 0) ||
    (a.column ?? 0) - (b.column ?? 0) ||
    Number(a.followOn ?? false) - Number(b.followOn ?? false)
  );
}
