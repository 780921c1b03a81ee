/** Sphinx's last word: "build succeeded, 7 warnings.", "build finished with problems, 1 warning.", "build succeeded." */
const SUMMARY = /^build (?:succeeded|finished with problems)(?:, (\d+) warnings?)?\.$/;
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * The number of warnings Sphinx's own summary line gives (its count of
 * WARNING, ERROR and CRITICAL messages, which pyci reports as it is), or
 * undefined when Sphinx stopped before printing one.
 */
export function sphinxWarningCount(output: string): number | undefined {
  const lines = output.replace(ANSI, "").split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const match = SUMMARY.exec(lines[i]!.trim());
    if (match) return Number(match[1] ?? 0);
  }
  return undefined;
}
