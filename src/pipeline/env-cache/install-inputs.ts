import { posix } from "node:path";

/** What one requirement or option of a pip install reads from the checkout. */
export type InstallInput =
  /** A requirements or constraints file: its own lines are read in turn, relative to its directory. */
  | { kind: "requirements"; path: string }
  /** A file or directory pip reads (a local package, a wheel, a --find-links directory); `orElse` when `path` is missing. */
  | { kind: "path"; path: string; orElse?: string };

/** What a list of pip install arguments (a command's, or a requirements file line's) reads, or why it is not cacheable. */
export type InstallInputs = { inputs: InstallInput[] } | { problem: string };

/** Options pip install takes that change nothing but what is in the key already. */
const FLAGS = new Set([
  "--no-index",
  "--pre",
  "-U",
  "--upgrade",
  "--prefer-binary",
  "-q",
  "--quiet",
  "-v",
  "--verbose",
  "--no-deps",
  "--require-hashes",
  "--no-build-isolation",
  "--no-cache-dir",
  "--disable-pip-version-check",
]);
/** Options with a value that reads nothing of the checkout. */
const VALUED = new Set([
  "--only-binary",
  "--no-binary",
  "--upgrade-strategy",
  "--progress-bar",
  "--hash",
  "--trusted-host",
]);
const REQUIREMENTS = new Set(["-r", "--requirement", "-c", "--constraint"]);
const FIND_LINKS = new Set(["-f", "--find-links"]);
const INDEX = new Set(["-i", "--index-url", "--extra-index-url"]);
const EDITABLE = new Set(["-e", "--editable"]);
const ARCHIVE = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz)$/i;

/**
 * The checkout's files that pip arguments read, `base` being the directory
 * (relative to the checkout) that a requirements file's own paths are
 * relative to. Only what pip reads from the files it is given is
 * cacheable: an editable install, the repository itself (`.`), a path
 * outside the repository, a file: URL, an environment variable or an
 * option pyci does not know make the install not cacheable, and say why.
 */
export function installInputs(args: string[], base = "."): InstallInputs {
  const inputs: InstallInput[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.includes("${")) return { problem: `${arg} names an environment variable` };
    if (!arg.startsWith("-")) {
      const problem = requirement(arg, inputs);
      if (problem) return { problem };
      continue;
    }
    const [name, attached] = splitOption(arg);
    if (FLAGS.has(name) && attached === undefined) continue;
    if (EDITABLE.has(name)) return { problem: `an editable install (${arg}) points at one build's checkout` };
    if (![...VALUED, ...REQUIREMENTS, ...FIND_LINKS, ...INDEX].includes(name))
      return { problem: `pyci does not cache installs with ${name}` };
    const value = attached ?? args[++i];
    if (value === undefined) return { problem: `${name} has no value` };
    if (value.includes("${")) return { problem: `${value} names an environment variable` };
    if (REQUIREMENTS.has(name)) {
      const path = inRepository(posix.join(base, value));
      if (typeof path !== "string") return path;
      inputs.push({ kind: "requirements", path });
    } else if (FIND_LINKS.has(name) && !isUrl(value)) {
      // pip reads a requirements file's --find-links next to it when it is there, else from the working directory
      const local = value.startsWith("file:") ? value.replace(/^file:(\/\/)?/, "") : value;
      const path = inRepository(local);
      if (typeof path !== "string") return path;
      const beside = base === "." ? undefined : inRepository(posix.join(base, local));
      inputs.push(typeof beside === "string" ? { kind: "path", path: beside, orElse: path } : { kind: "path", path });
    } else if (INDEX.has(name) && !isUrl(value)) {
      return { problem: `${name} ${value} is not an http(s) index` };
    }
  }
  return { inputs };
}

/** A requirement: a name and version (nothing to read), a URL, or a local path (read). */
function requirement(spec: string, inputs: InstallInput[]): string | undefined {
  if (/^file:/i.test(spec) || /@\s*file:/i.test(spec)) return `${spec} is a file: URL`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec) || /\s@\s/.test(spec)) return undefined;
  const looksLikePath = spec.startsWith(".") || spec.startsWith("/") || spec.includes("/") || ARCHIVE.test(spec);
  if (!looksLikePath) return undefined;
  const path = inRepository(spec.replace(/\[[^\]]*\]$/, ""));
  if (typeof path !== "string") return path.problem;
  inputs.push({ kind: "path", path });
  return undefined;
}

/** A path relative to the checkout, normalized; the repository itself or anything outside it is a problem. */
function inRepository(path: string): string | { problem: string } {
  if (posix.isAbsolute(path)) return { problem: `${path} is outside the repository` };
  const normal = posix.normalize(path).replace(/\/+$/, "");
  if (normal === "." || normal === "") return { problem: "it installs the repository itself (.)" };
  if (normal === ".." || normal.startsWith("../")) return { problem: `${path} is outside the repository` };
  return normal;
}

function isUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

/** `--opt=value` → ["--opt", "value"]; `-rfile` → ["-r", "file"]; anything else → [arg, undefined]. */
function splitOption(arg: string): [string, string | undefined] {
  if (arg.startsWith("--")) {
    const eq = arg.indexOf("=");
    return eq < 0 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
  }
  return arg.length > 2 && !FLAGS.has(arg) ? [arg.slice(0, 2), arg.slice(2)] : [arg, undefined];
}
