import type { LineIndex, LogReader } from "./line-index.js";

/** A window of a log holds at most this many bytes… */
export const WINDOW_BYTES = 256 * 1024;
/** …and at most this many lines. Keep both in step with assets/log-viewer.js. */
export const WINDOW_LINES = 2000;

/** Whole lines of a step's log, with where they are in it. */
export interface LogWindow {
  step: string;
  text: string;
  /** Bytes [start, end) of the log; start is a line start unless `partial`. */
  start: number;
  end: number;
  /** The log's size when it was read. */
  size: number;
  /** The number of the window's first line in the whole log (1-based). */
  firstLine: number;
  /** The first line began before `start` (a line longer than the window). */
  partial: boolean;
}

/**
 * The last lines of a step's log before byte `before` (default: its end), at
 * most WINDOW_BYTES and WINDOW_LINES of them, numbered as in the whole log.
 * Reads only the window, plus what the line index has not counted yet.
 * Undefined when the step has no log.
 */
export async function readLogWindow(
  reader: LogReader,
  lines: LineIndex,
  id: string,
  step: string,
  before?: number,
): Promise<LogWindow | undefined> {
  const range =
    before === undefined
      ? { start: -WINDOW_BYTES }
      : { start: Math.max(0, before - WINDOW_BYTES), end: Math.max(0, before) };
  const chunk = await reader.readLogRange(id, step, range);
  if (!chunk) return undefined;
  let { text, start } = chunk;
  let partial = false;
  if (start > 0) {
    const first = text.indexOf("\n");
    if (first >= 0 && first < text.length - 1) {
      start += Buffer.byteLength(text.slice(0, first + 1));
      text = text.slice(first + 1);
    } else {
      partial = true;
    }
  }
  const cut = lastLinesStart(text, WINDOW_LINES);
  if (cut > 0) {
    start += Buffer.byteLength(text.slice(0, cut));
    text = text.slice(cut);
    partial = false;
  }
  const firstLine = await lines.lineAt(id, step, start);
  return { step, text, start, end: chunk.end, size: chunk.size, firstLine, partial };
}

/** Where the last `count` lines of `text` begin (0 when it has no more). */
export function lastLinesStart(text: string, count: number): number {
  let cut = text.endsWith("\n") ? text.length - 1 : text.length;
  for (let n = 0; n < count; n++) {
    const newline = cut > 0 ? text.lastIndexOf("\n", cut - 1) : -1;
    if (newline < 0) return 0;
    cut = newline;
  }
  return cut + 1;
}
