// Types of log-lines.js (plain browser code beside this file), for the server.

/** The bytes and lines of a log a window holds at most. */
export const WINDOW_BYTES: number;
export const WINDOW_LINES: number;

/** Where the last `count` lines of `text` begin (0 when it has no more). */
export function lastLinesStart(text: string, count: number): number;
