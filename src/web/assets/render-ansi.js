// The ANSI renderer of build logs, for the browser and the server alike: the
// server renders a log's first view with it (src/web/render-ansi.ts imports
// this file), and the page's script (log-viewer.js) renders what follows.
// Plain browser code, served as it is (see src/web/web-asset.ts); its types
// are in render-ansi.d.ts beside it.

const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** The text as HTML text or attribute value: & < > " ' escaped (undefined and null are ""). */
export function escapeHtml(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** Nothing set: default colours, no weight or style. */
export const PLAIN = Object.freeze({ bold: false, dim: false, italic: false, underline: false });

/**
 * One token of terminal output: a CSI sequence (SGR when it ends in "m"), an
 * OSC sequence, another escape, a line break, a carriage return, other
 * control characters, or plain text.
 */
const TOKEN =
  /\u001b\[([0-?]*)[ -/]*([@-~])|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]*[0-~]?|\r?\n|\r|[\u0000-\u0008\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f]+|[^\u0000-\u0008\u000a-\u001f\u007f]+/g;

/**
 * Terminal output as HTML lines: SGR colours and bold, dim, italic and
 * underline become spans (classes a-b, a-d, a-i, a-u, a-f<n>, a-g<n>, or an
 * inline colour for 256-colour and 24-bit ones); other escape sequences and
 * control characters are dropped; text after a carriage return replaces the
 * line (progress bars show their last state). Spans never cross lines.
 */
export function renderAnsi(text, start = PLAIN) {
  const state = { ...start };
  const lines = [];
  let line = "";
  let run = "";
  let runState = { ...state };
  let returned = false;
  let open = false;
  const flush = () => {
    if (run) line += span(run, runState);
    run = "";
  };
  for (const match of text.matchAll(TOKEN)) {
    const token = match[0];
    const first = token.charCodeAt(0);
    if (token === "\n" || token === "\r\n") {
      flush();
      lines.push(line);
      line = "";
      returned = false;
      open = false;
      continue;
    }
    open = true;
    if (token === "\r") {
      returned = true;
    } else if (first === 0x1b) {
      if (match[2] === "m") applySgr(state, match[1] ?? "");
    } else if (first === 0x09 || (first >= 0x20 && first !== 0x7f)) {
      if (returned) {
        line = "";
        run = "";
        returned = false;
      }
      if (!sameState(state, runState)) {
        flush();
        runState = { ...state };
      }
      run += token;
    }
  }
  flush();
  if (line !== "") lines.push(line);
  return { lines, open: open && line !== "", state };
}

/** The SGR parameters that set `state` from a reset one ("" for plain): to carry it across requests. */
export function sgrParams(state) {
  const params = [];
  if (state.bold) params.push(1);
  if (state.dim) params.push(2);
  if (state.italic) params.push(3);
  if (state.underline) params.push(4);
  if (state.fg !== undefined) params.push(colourParams(state.fg, 30, 90, 38));
  if (state.bg !== undefined) params.push(colourParams(state.bg, 40, 100, 48));
  return params.join(";");
}

/** The state that sgrParams(state) describes. */
export function parseSgrParams(params) {
  const state = { ...PLAIN };
  if (/^[0-9;]*$/.test(params)) applySgr(state, params);
  return state;
}

function applySgr(state, params) {
  const codes = params.split(/[;:]/).map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === 0) Object.assign(state, PLAIN, { fg: undefined, bg: undefined });
    else if (code === 1) state.bold = true;
    else if (code === 2) state.dim = true;
    else if (code === 3) state.italic = true;
    else if (code === 4 || code === 21) state.underline = true;
    else if (code === 22) state.bold = state.dim = false;
    else if (code === 23) state.italic = false;
    else if (code === 24) state.underline = false;
    else if (code >= 30 && code <= 37) state.fg = code - 30;
    else if (code >= 90 && code <= 97) state.fg = code - 90 + 8;
    else if (code === 39) state.fg = undefined;
    else if (code >= 40 && code <= 47) state.bg = code - 40;
    else if (code >= 100 && code <= 107) state.bg = code - 100 + 8;
    else if (code === 49) state.bg = undefined;
    else if (code === 38 || code === 48) {
      const [colour, used] = extendedColour(codes, i + 1);
      if (colour === undefined) return;
      if (code === 38) state.fg = colour;
      else state.bg = colour;
      i += used;
    }
  }
}

/** 5;n (palette) or 2;r;g;b (24-bit) from codes[at]; the colour and how many codes it took. */
function extendedColour(codes, at) {
  const byte = (n) => n !== undefined && Number.isInteger(n) && n >= 0 && n <= 255;
  if (codes[at] === 5 && byte(codes[at + 1])) return [codes[at + 1], 2];
  const [r, g, b] = [codes[at + 1], codes[at + 2], codes[at + 3]];
  if (codes[at] === 2 && byte(r) && byte(g) && byte(b)) return [`#${hex(r)}${hex(g)}${hex(b)}`, 4];
  return [undefined, 0];
}

function colourParams(colour, base, bright, extended) {
  if (typeof colour === "string") {
    const [r, g, b] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
    return `${extended};2;${r};${g};${b}`;
  }
  if (colour < 8) return String(base + colour);
  if (colour < 16) return String(bright + colour - 8);
  return `${extended};5;${colour}`;
}

function span(text, state) {
  const classes = [];
  const styles = [];
  if (state.bold) classes.push("a-b");
  if (state.dim) classes.push("a-d");
  if (state.italic) classes.push("a-i");
  if (state.underline) classes.push("a-u");
  if (typeof state.fg === "number" && state.fg < 16) classes.push(`a-f${state.fg}`);
  else if (state.fg !== undefined) styles.push(`color:${cssColour(state.fg)}`);
  if (typeof state.bg === "number" && state.bg < 16) classes.push(`a-g${state.bg}`);
  else if (state.bg !== undefined) styles.push(`background-color:${cssColour(state.bg)}`);
  if (classes.length === 0 && styles.length === 0) return escapeHtml(text);
  const classAttr = classes.length ? ` class="${classes.join(" ")}"` : "";
  const styleAttr = styles.length ? ` style="${styles.join(";")}"` : "";
  return `<span${classAttr}${styleAttr}>${escapeHtml(text)}</span>`;
}

/** An xterm palette index from 16 up, or a "#rrggbb" made by extendedColour (never text from the log). */
function cssColour(colour) {
  if (typeof colour === "string") return colour;
  if (colour >= 232) {
    const level = 8 + (colour - 232) * 10;
    return `#${hex(level)}${hex(level)}${hex(level)}`;
  }
  const cube = colour - 16;
  const levels = [0, 95, 135, 175, 215, 255];
  return `#${hex(levels[Math.floor(cube / 36)])}${hex(levels[Math.floor(cube / 6) % 6])}${hex(levels[cube % 6])}`;
}

function sameState(a, b) {
  return (
    a.bold === b.bold &&
    a.dim === b.dim &&
    a.italic === b.italic &&
    a.underline === b.underline &&
    a.fg === b.fg &&
    a.bg === b.bg
  );
}

function hex(n) {
  return n.toString(16).padStart(2, "0");
}
