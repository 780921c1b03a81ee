// Types of render-ansi.js (plain browser code beside this file), for the server.

/**
 * The graphic rendition in effect at a point of a log. A colour is an index
 * of the xterm palette (0–15 become classes, 16–255 inline colours) or a
 * "#rrggbb" from a 24-bit sequence; undefined is the default colour.
 */
export interface AnsiState {
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  fg?: number | string;
  bg?: number | string;
}

export interface RenderedLines {
  /** Each line's HTML, everything escaped: one per "\n", plus the unterminated rest when it shows anything. */
  lines: string[];
  /** True when the last line had no "\n" (the next text continues it). */
  open: boolean;
  /** The rendition at the end, to render the text that follows. */
  state: AnsiState;
}

export function escapeHtml(value: unknown): string;
export const PLAIN: AnsiState;
export function renderAnsi(text: string, start?: AnsiState): RenderedLines;
export function sgrParams(state: AnsiState): string;
export function parseSgrParams(params: string): AnsiState;
