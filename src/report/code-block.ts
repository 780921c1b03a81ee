/**
 * `text` as a fenced code block that shows it verbatim: the fence is one
 * backtick longer than the longest run of backticks in `text` (at least
 * three), so no line of `text` can close it.
 */
export function codeBlock(text: string): string {
  let longest = 0;
  for (const run of text.matchAll(/`+/g)) longest = Math.max(longest, run[0].length);
  const fence = "`".repeat(Math.max(3, longest + 1));
  return `${fence}\n${text}\n${fence}`;
}
