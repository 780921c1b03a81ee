import { assetModule } from "./asset-module.js";
import type * as LogLines from "./assets/log-lines.js";
import type { LineIndex, LogReader } from "./line-index.js";

/** How much of a log a window holds, and where its last lines begin: the page's script cuts it with the same module. */
export const { WINDOW_BYTES, WINDOW_LINES, lastLinesStart } = await assetModule<typeof LogLines>("log-lines.js");

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
