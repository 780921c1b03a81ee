import type { Diagnostic } from "../pipeline/types.js";

/** "pkg/mod.py:3:5", or undefined for a diagnostic the tool gave no place. */
export function diagnosticPlace(d: Diagnostic): string | undefined {
  return d.file === undefined ? undefined : `${d.file}:${d.line ?? 1}:${d.column ?? 1}`;
}

/** What kind of problem a diagnostic is, in the words the summary and the build page use. */
export function diagnosticKind(d: Diagnostic, enforced: boolean): string {
  if (d.followOn) return "follow-on parse error (not counted)";
  if (d.syntax) return "syntax error";
  return d.severity === "error" && !enforced ? "error (not enforced)" : d.severity;
}
