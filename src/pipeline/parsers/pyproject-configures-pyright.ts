/**
 * Whether a pyproject.toml configures pyright: a `[tool.pyright]` table, a
 * sub-table or array of tables below it (`[tool.pyright.defineConstant]`,
 * `[[tool.pyright.executionEnvironments]]`), or a dotted key that lands in it
 * (`pyright.strict = [...]` under `[tool]`, `tool.pyright.x = 1` at the top).
 *
 * A scanner of TOML's statement structure, not a full parser: it reads keys
 * (bare, "basic" and 'literal', dotted, with spaces around the dots) and skips
 * values whole (strings of all four kinds, multi-line arrays and inline
 * tables, comments), so that text inside a string or a comment never counts.
 * A line it cannot read is skipped, as a TOML parser would reject the file.
 */
export function pyprojectConfiguresPyright(toml: string): boolean {
  const text = toml.replace(/\r\n/g, "\n");
  let table: string[] = [];
  let i = 0;
  while (i < text.length) {
    i = skipSpace(text, i, true);
    const c = text[i];
    if (c === undefined) break;
    if (c === "#") {
      i = endOfLine(text, i);
      continue;
    }
    if (c === "[") {
      const opening = text[i + 1] === "[" ? 2 : 1;
      const key = readKey(text, i + opening, "]".repeat(opening));
      if (!key) {
        i = endOfLine(text, i);
        continue;
      }
      table = key.keys;
      if (isPyright(table)) return true;
      i = endOfLine(text, key.end);
      continue;
    }
    const key = readKey(text, i, "=");
    if (!key) {
      i = endOfLine(text, i);
      continue;
    }
    if (isPyright([...table, ...key.keys])) return true;
    i = skipValue(text, key.end);
  }
  return false;
}

function isPyright(keys: string[]): boolean {
  return keys[0] === "tool" && keys[1] === "pyright";
}

/** Reads `a."b".'c'` up to `terminator`; returns the keys and the index after the terminator. */
function readKey(text: string, start: number, terminator: string): { keys: string[]; end: number } | undefined {
  const keys: string[] = [];
  let i = start;
  for (;;) {
    i = skipSpace(text, i, false);
    const segment = readKeySegment(text, i);
    if (!segment) return undefined;
    keys.push(segment.value);
    i = skipSpace(text, segment.end, false);
    if (text[i] === ".") {
      i += 1;
      continue;
    }
    if (text.startsWith(terminator, i)) return { keys, end: i + terminator.length };
    return undefined;
  }
}

function readKeySegment(text: string, i: number): { value: string; end: number } | undefined {
  const c = text[i];
  if (c === '"' || c === "'") {
    const end = endOfString(text, i, c, c === '"');
    if (end === undefined) return undefined;
    const raw = text.slice(i + 1, end - 1);
    return { value: c === '"' ? unescapeBasic(raw) : raw, end };
  }
  const bare = /^[A-Za-z0-9_-]+/.exec(text.slice(i, i + 256));
  return bare ? { value: bare[0], end: i + bare[0].length } : undefined;
}

/** Skips a value (from just after `=`) to the end of its last line. */
function skipValue(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const end = triple ? endOfMultilineString(text, i, c, c === '"') : endOfString(text, i, c, c === '"');
      if (end === undefined) return text.length;
      i = end;
      continue;
    }
    if (c === "#") {
      i = text.indexOf("\n", i);
      if (i === -1) return text.length;
      continue;
    }
    if (c === "[" || c === "{") depth += 1;
    else if (c === "]" || c === "}") depth -= 1;
    else if (c === "\n" && depth <= 0) return i + 1;
    i += 1;
  }
  return text.length;
}

/** Index after the closing quote of a one-line string that opens at `i`. */
function endOfString(text: string, i: number, quote: string, escapes: boolean): number | undefined {
  for (let j = i + 1; j < text.length; j += 1) {
    const c = text[j];
    if (c === "\n") return undefined;
    if (escapes && c === "\\") j += 1;
    else if (c === quote) return j + 1;
  }
  return undefined;
}

/** Index after the closing `"""`/`'''` (which may be followed by up to two quotes of the content). */
function endOfMultilineString(text: string, i: number, quote: string, escapes: boolean): number | undefined {
  const delimiter = quote.repeat(3);
  for (let j = i + 3; j < text.length; j += 1) {
    if (escapes && text[j] === "\\") {
      j += 1;
      continue;
    }
    if (text.startsWith(delimiter, j)) {
      let end = j + 3;
      while (end < j + 5 && text[end] === quote) end += 1;
      return end;
    }
  }
  return undefined;
}

function skipSpace(text: string, i: number, newlines: boolean): number {
  let j = i;
  while (j < text.length && (text[j] === " " || text[j] === "\t" || (newlines && text[j] === "\n"))) j += 1;
  return j;
}

function endOfLine(text: string, i: number): number {
  const newline = text.indexOf("\n", i);
  return newline === -1 ? text.length : newline + 1;
}

/** Enough of TOML's escapes for a key to compare equal to "tool" or "pyright". */
function unescapeBasic(raw: string): string {
  return raw.replace(/\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)/g, (_, esc: string) => {
    if (esc.length > 1) return String.fromCodePoint(Number.parseInt(esc.slice(1), 16));
    return ({ b: "\b", t: "\t", n: "\n", f: "\f", r: "\r" } as Record<string, string>)[esc] ?? esc;
  });
}
