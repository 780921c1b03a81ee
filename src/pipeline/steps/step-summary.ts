import { truncate } from "../../text/truncate.js";

/** A step summary: one line, at most the 140 characters a commit status takes. */
export function oneLine(text: string): string {
  return truncate(text.replace(/\s+/g, " ").trim(), 140);
}

/** "30s", "1.5s": how a timeout reads in a summary. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
}
