/** Cuts `text` to at most `max` characters, ending with an ellipsis when cut. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Keeps the last `max` characters of `text`, starting at a line boundary when cut. */
export function tail(text: string, max: number, marker = "…\n"): string {
  if (text.length <= max) return text;
  const cut = text.slice(text.length - (max - marker.length));
  const newline = cut.indexOf("\n");
  return marker + (newline >= 0 && newline < cut.length - 1 ? cut.slice(newline + 1) : cut);
}
