// How much of a log the build page shows at once, and where its last lines
// begin: the server's first view (src/web/log-window.ts) and the page's script
// (log-viewer.js) cut a log the same way with this one module.

/** The bytes and lines of a log a window holds at most. */
export const WINDOW_BYTES = 256 * 1024;
export const WINDOW_LINES = 2000;

/** Where the last `count` lines of `text` begin (0 when it has no more). */
export function lastLinesStart(text, count) {
  let cut = text.endsWith("\n") ? text.length - 1 : text.length;
  for (let n = 0; n < count; n++) {
    const newline = cut > 0 ? text.lastIndexOf("\n", cut - 1) : -1;
    if (newline < 0) return 0;
    cut = newline;
  }
  return cut + 1;
}
