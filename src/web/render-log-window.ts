import { escapeHtml as h } from "./escape-html.js";
import type { LogWindow } from "./log-window.js";
import { renderAnsi, sgrParams } from "./render-ansi.js";

/** What the page's script needs to continue a step's log: where it ends, the next line's number, the colours in effect. */
export interface LogWindowHtml {
  html: string;
  /** The number the next new line gets (when `open`, text that follows first continues line nextLine - 1). */
  nextLine: number;
  /** The last line has no "\n" yet: more output continues it. */
  open: boolean;
  /** SGR parameters in effect at the end (see sgrParams). */
  sgr: string;
}

/**
 * A window of a log as numbered lines, each `<div class="l" id="L<step>-<n>">`
 * with its number as a link to itself, in one `<div class="chunk">` that
 * says which bytes of the log it shows. The colours in effect before the
 * window are unknown: it starts plain.
 * Keep the markup in step with lineHtml in assets/log-viewer.js.
 */
export function renderLogWindow(window: LogWindow): LogWindowHtml {
  const rendered = renderAnsi(window.text);
  const lines = rendered.lines.map((html, i) => lineHtml(window.step, window.firstLine + i, html)).join("");
  return {
    html: `<div class="chunk" data-start="${window.start}" data-end="${window.end}" data-line="${window.firstLine}">${lines}</div>`,
    nextLine: window.firstLine + rendered.lines.length,
    open: rendered.open,
    sgr: sgrParams(rendered.state),
  };
}

export function lineHtml(step: string, n: number, html: string): string {
  const id = h(`L${step}-${n}`);
  return `<div class="l" id="${id}"><a href="#${id}">${n}</a>${html}</div>`;
}
