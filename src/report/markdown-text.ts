/** Characters Markdown gives a meaning to anywhere in a line (GitHub's extensions included): always escaped. */
const SPECIAL = /[\\`*_~[\]<>|#&$]/g;

/**
 * `text` as GitHub-flavoured Markdown that reads as exactly that text, on
 * one line: for whatever the repository or its tools wrote (test ids,
 * messages, file names, step summaries) wherever it goes inline — a
 * paragraph, a list item, between `**`, a table cell.
 *
 * - Line breaks (and the indentation after them) become one space: a table
 *   row or list item stays one line.
 * - `\` `` ` `` `*` `~` `[` `]` `<` `>` `|` `#` `&` `$` get a backslash: no
 *   emphasis, code, strikethrough, link, image (`![` needs its `[`), raw
 *   HTML, autolink, cell border, heading, entity or math of its own.
 * - `_` too, except between two letters or digits, where GFM never reads it
 *   as emphasis: `test_login` stays as it is.
 * - A leading `-`, `+`, `=` or `1.`/`1)` is escaped, in case it starts a line.
 *
 * What GitHub links after rendering (a bare URL, `@user`, `#123`, `:emoji:`)
 * shows the text as written.
 */
export function markdownText(text: string): string {
  return text
    .replace(/[ \t]*(\r\n|\r|\n)\s*/g, " ")
    .replace(SPECIAL, (c, at: number, all: string) =>
      c === "_" && ALNUM.test(all[at - 1] ?? "") && ALNUM.test(all[at + 1] ?? "") ? c : `\\${c}`,
    )
    .replace(/^(\s*)([-+=])/, "$1\\$2")
    .replace(/^(\s*\d+)([.)])/, "$1\\$2");
}

const ALNUM = /^[A-Za-z0-9]$/;
