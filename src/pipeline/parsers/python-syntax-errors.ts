import type { Diagnostic } from "../types.js";

/**
 * Reads the JSON list printed by python/pyci_syntax.py
 * (`[{file, line, column, message}]`, relative paths, 1-based positions)
 * as syntax-error diagnostics.
 */
export function parsePythonSyntaxErrors(json: string): Diagnostic[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new Error(`pyci_syntax.py's output is not valid JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(data)) throw new Error("pyci_syntax.py's output is not a JSON list");
  return data.map((raw: unknown, index): Diagnostic => {
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
}
