import { join } from "node:path";

/**
 * The environment of the code under test: an allow-list, never the server's
 * own environment (which holds the app's private key, the webhook secret and
 * installation tokens). HOME and TMPDIR are throwaway directories in the
 * build's scratch dir (made by the pipeline before any of the repository's
 * code runs: never here, where pyci would follow what that code left).
 * `declared` is what the repository's `env:` asks for
 * (validated by the repo config; names pyci sets itself are dropped here
 * too); `extra` is pyci's own (a venv's PATH) and wins over both.
 */
export function sandboxEnv(
  scratchDir: string,
  extra: Record<string, string> = {},
  declared: Record<string, string> = {},
): Record<string, string> {
  const home = join(scratchDir, "home");
  const tmp = join(scratchDir, "tmp");
  const own = Object.fromEntries(Object.entries(declared).filter(([name]) => envNameProblem(name) === undefined));
  return {
    ...own,
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    HOME: home,
    TMPDIR: tmp,
    LANG: "C.UTF-8",
    LC_ALL: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    PYTHONIOENCODING: "utf-8",
    PYTHONDONTWRITEBYTECODE: "1",
    PIP_DISABLE_PIP_VERSION_CHECK: "1",
    ...extra,
  };
}

/** Names pyci sets itself (PYCI_* marks a step's processes). */
const OWN = new Set(["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "VIRTUAL_ENV"]);
/**
 * Variables that steer the dynamic loader or libc of the programs that set
 * up the sandbox (bwrap and setpriv run with this environment, as root).
 */
const LOADER =
  /^(LD_|MALLOC_|GCONV_PATH$|GETCONF_DIR$|HOSTALIASES$|LOCPATH$|NLSPATH$|RESOLV_HOST_CONF$|RES_OPTIONS$|TZDIR$)/;

/** Why a repository may not set the variable `name` for its code under test, or undefined when it may. */
export function envNameProblem(name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return `${JSON.stringify(name)} is not a variable name (letters, digits and _)`;
  if (OWN.has(name) || name.startsWith("PYCI_")) return `${name} is set by pyci`;
  if (LOADER.test(name)) return `${name} would steer the dynamic loader of the sandbox itself`;
  return undefined;
}
