import type { LogSink } from "../../model/log-sink.js";
import { pipErrors } from "../parsers/pip-errors.js";

/** How many of an install command's last lines are read for why it failed. */
export const INSTALL_TAIL_LINES = 40;

/**
 * An install that exited non-zero: its summary says what failed and the
 * line that says why (pip's own "No matching distribution found for …",
 * parsers/pip-errors.ts); its advice, when pip said it, what to do about
 * it. The log gets those lines and the advice at its end, where a reader
 * of its tail looks.
 */
export function installFailure(
  failed: string,
  output: string[],
  pipAdvice: string,
  log: LogSink,
): { summary: string; advice?: string } {
  const errors = pipErrors(output);
  const cause = errors.at(-1)?.replace(/^ERROR: /, "");
  const advice = errors.some((line) => /^(ERROR: |× )/.test(line)) ? pipAdvice : undefined;
  if (errors.length > 0) log.write(`\npyci: ${failed}; it said:\n${errors.map((line) => `  ${line}\n`).join("")}`);
  if (advice) log.write(`pyci: ${advice}\n`);
  return { summary: `${failed}${cause ? `: ${cause}` : ""}`, ...(advice ? { advice } : {}) };
}
