import { isAbsolute, posix, relative, sep } from "node:path";

export interface SphinxFatalError {
  /**
   * The heading Sphinx printed: "Configuration error", "Extension error",
   * "Theme error", "Warning, treated as error", "Exception occurred", …
   */
  category: string;
  /** What Sphinx printed under the heading, without its bug-report boilerplate. */
  message: string;
  /** The line that says what went wrong: a traceback's exception line, else the message's first line. */
  detail: string;
  /** Where it points in the repository (relative, forward slashes), when it does. */
  file?: string;
  line?: number;
}

/**
 * A heading of sphinx-build's handle_exception: a SphinxError's category
 * ("Configuration error:"), "reST markup error:", "Encoding error:",
 * "Recursion error:", "Exception occurred:". Always after an empty line.
 */
const HEADING = /^(?<category>[A-Z][A-Za-z ,.'-]{0,60}(?:error|Error|occurred)):$/;
/** Where handle_exception's boilerplate after a traceback starts. */
const BOILERPLATE = /^The full traceback has been saved in /;
/** Python's SyntaxError text: "'[' was never closed (conf.py, line 2)". */
const SYNTAX_ERROR_AT = /\((?<file>[^,()]+), line (?<line>\d+)\)$/;
const FRAME = /^\s*File "(?<file>[^"]+)", line (?<line>\d+)/;
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * The error that stopped sphinx-build, read from the end of its console
 * output, or undefined when it printed none (a `-W --keep-going` build
 * that only counted its warnings). It points into the repository when the
 * error says where: a syntax error in conf.py ("(conf.py, line 2)", a
 * file name Python reports relative to `srcDir`), or the innermost
 * traceback frame in a file under `repoRoot`.
 */
export function parseSphinxFatalError(output: string, repoRoot: string, srcDir: string): SphinxFatalError | undefined {
  const lines = output.replace(ANSI, "").split(/\r?\n/);
  let start = -1;
  for (let i = lines.length - 1; i > 0; i -= 1) {
    if (lines[i - 1]?.trim() === "" && HEADING.test(lines[i] ?? "")) {
      start = i;
      break;
    }
  }
  if (start < 0) return undefined;
  const category = HEADING.exec(lines[start] ?? "")?.groups?.category ?? "";
  const body = lines.slice(start + 1);
  const end = body.findIndex((line) => BOILERPLATE.test(line));
  // Blank lines around it go; a traceback's indentation stays.
  const message = (end < 0 ? body : body.slice(0, end))
    .join("\n")
    .replace(/^(?:[ \t]*\n)+/, "")
    .trimEnd();
  const messageLines = message.split("\n").filter((line) => line.trim() !== "");
  const isTraceback = messageLines.some((line) => FRAME.test(line));
  const detail = (isTraceback ? messageLines.findLast((line) => !/^\s/.test(line)) : messageLines[0])?.trim() ?? "";
  return { category, message, detail, ...where(messageLines, detail, repoRoot, srcDir) };
}

function where(
  messageLines: string[],
  detail: string,
  repoRoot: string,
  srcDir: string,
): { file?: string; line?: number } {
  const frames = messageLines.flatMap((text) => {
    const groups = FRAME.exec(text)?.groups;
    const file = groups?.file === undefined ? undefined : inRepository(groups.file, repoRoot);
    return file === undefined ? [] : [{ file, line: Number(groups?.line) }];
  });
  const innermost = frames.at(-1);
  if (innermost) return innermost;
  const syntax = SYNTAX_ERROR_AT.exec(detail)?.groups;
  if (syntax?.file && syntax.line) {
    const file = isAbsolute(syntax.file)
      ? inRepository(syntax.file, repoRoot)
      : posix.join(srcDir.split(sep).join("/"), syntax.file);
    if (file !== undefined) return { file, line: Number(syntax.line) };
  }
  return {};
}

function inRepository(path: string, repoRoot: string): string | undefined {
  if (!isAbsolute(path)) return undefined;
  const rel = relative(repoRoot, path);
  if (rel === "" || rel.split(sep)[0] === ".." || isAbsolute(rel)) return undefined;
  return rel.split(sep).join("/");
}
