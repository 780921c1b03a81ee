/** pip's own error lines: "ERROR: No matching distribution found for furo>=2025.07.19". */
const PIP_ERROR = /^ERROR: /;
/** pip's headline of a failed subprocess: "× pip subprocess to install build dependencies did not run successfully." */
const PIP_HEADLINE = /^× /;
const ANY_ERROR = /^(error|fatal|Error)\b[:\s]/;

/**
 * What an install printed that says why it failed, from its last lines
 * (pip's, or another tool's): pip's `ERROR:` lines, at most `max` of them,
 * the last one — pip's most specific, "No matching distribution found for …" —
 * last; else pip's "× …" headline; else a line that starts with "error";
 * else the last line printed. Empty when nothing was printed.
 */
export function pipErrors(output: string[], max = 3): string[] {
  const lines = output.map((line) => line.trim()).filter((line) => line !== "");
  const pip = [...new Set(lines.filter((line) => PIP_ERROR.test(line)))];
  if (pip.length > 0) return pip.slice(-max);
  const headline = lines.filter((line) => PIP_HEADLINE.test(line)).at(-1);
  if (headline) return [headline];
  const error = lines.filter((line) => ANY_ERROR.test(line)).at(-1);
  if (error) return [error];
  return lines.slice(-1);
}
