import type { Diagnostic } from "../types.js";

export interface PythonSyntaxErrors {
  /** The interpreter that compiled the files, e.g. "3.11.7". */
  python: string;
  /** At most one a file: where Python's compiler stops. */
  errors: Diagnostic[];
}

/**
 * Reads the JSON printed by python/pyci_syntax.py
 * (`{python, errors: [{file, line, column, message}]}`, relative paths,
 * 1-based positions) as syntax-error diagnostics.
 */
export function parsePythonSyntaxErrors(json: string): PythonSyntaxErrors {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`pyci_syntax.py's output is not valid JSON (${(err as Error).message})`);
  }
  const output = (typeof data === "object" && data !== null ? data : {}) as Record<string, unknown>;
  if (typeof output.python !== "string" || !Array.isArray(output.errors)) {
    throw new Error("pyci_syntax.py's output is not an object with python and errors");
  }
  const errors = output.errors.map((raw: unknown, index): Diagnostic => {
    const entry = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
    const { file, line, column, message } = entry;
    if (
      typeof file !== "string" ||
      typeof line !== "number" ||
      typeof column !== "number" ||
      typeof message !== "string"
    ) {
      throw new Error(`pyci_syntax.py's entry #${index + 1} lacks file, line, column or message`);
    }
    return { file, line, column, severity: "error", rule: "syntax", message, syntax: true };
  });
  return { python: output.python, errors };
}
