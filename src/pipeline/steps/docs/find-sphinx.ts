import { access, constants, open } from "node:fs/promises";
import { delimiter, isAbsolute, join } from "node:path";
import { run, type RunResult } from "../../../process/exec.js";
import { runInBuild } from "../../run-in-build.js";
import { sandboxEnv } from "../../../process/sandbox/sandbox-env.js";
import type { LogSink } from "../../../model/log-sink.js";
import type { Sandbox } from "../../../process/sandbox/sandbox.js";
import { cannotRun } from "../cannot-run.js";

export interface Sphinx {
  /** The interpreter that imports sphinx: the docs are built with `<python> -m sphinx`. */
  python: string;
  /** sphinx.__version__ */
  version: string;
  /** How it was found, for the log: "python3 imports sphinx", "sphinx-build on PATH: /usr/bin/sphinx-build". */
  via: string;
  /** True when `python` is a virtualenv's: a venv made from it does not see that venv's packages. */
  inVirtualenv: boolean;
  /** site.getsitepackages() of `python`: where its sphinx (and the rest) is installed. */
  sitePackages: string[];
  /** sys.prefix and sys.base_prefix of `python`: what a sandbox must show for it to run. */
  prefixes: string[];
}

export type SphinxLookup = { found: true; sphinx: Sphinx } | { found: false; problem: string };

export interface FindSphinxOptions {
  /** The interpreter of the step (StepContext.python): asked in `sandbox`, it may be the build's own. */
  python: string;
  /** The build's sandbox (StepContext.sandbox). */
  sandbox: Sandbox;
  scratchDir: string;
  timeoutMs: number;
  log: LogSink;
  signal?: AbortSignal;
  /** The directories to look for sphinx-build in; the server's PATH by default. */
  searchPath?: string;
}

/** Prints what the docs step needs to know of an interpreter, or fails to import sphinx. */
const PROBE = `
import json, site, sys
import sphinx
print(json.dumps({
    "version": sphinx.__version__,
    "executable": sys.executable,
    "inVirtualenv": sys.prefix != sys.base_prefix,
    "sitePackages": site.getsitepackages() if hasattr(site, "getsitepackages") else [],
    "prefixes": sorted({sys.prefix, sys.base_prefix}),
}))
`;

/**
 * How pyci finds Sphinx on the server (the docs step):
 *
 *   1. The step's Python (the interpreter the tests run with: `python:` in
 *      .github/pyci.yml, or the install step's virtualenv) when it can
 *      `import sphinx`; pyci then runs `<that python> -m sphinx`. It is
 *      asked in the build's sandbox: it may be the build's own.
 *   2. Otherwise `sphinx-build` on the server's PATH. pyci reads the
 *      interpreter from its `#!` line (`#!/usr/bin/python3`, or
 *      `#!/usr/bin/env python3` looked up on PATH), checks that it can
 *      `import sphinx` (asked outside the sandbox, isolated with `-I` from /:
 *      it is the server's), and runs `<that interpreter> -m sphinx`.
 *   3. Neither: the docs step ends in `error`, "Sphinx is not installed on
 *      the server". Install it for one of the two, e.g. `apt install
 *      python3-sphinx` or `pip install sphinx`.
 *
 * When the repository declares docs requirements, pyci makes a virtualenv
 * with `--system-site-packages` from the interpreter found here (so it sees
 * that Sphinx, and, when that interpreter is itself a virtualenv's, that
 * virtualenv's packages too), installs the requirements into it, and runs
 * Sphinx with its python instead. The interpreter's own installation is
 * never changed.
 */
export async function findSphinx(options: FindSphinxOptions): Promise<SphinxLookup> {
  const tried: string[] = [];

  // 1. The step's Python.
  const own = await probe(options.python, `${options.python} imports sphinx`, options, "build");
  if ("sphinx" in own) return { found: true, sphinx: own.sphinx };
  if ("stopped" in own) return { found: false, problem: own.stopped };
  tried.push(`${options.python} ${own.reason}`);

  // 2. sphinx-build on PATH, through the interpreter of its #! line.
  const searchPath = options.searchPath ?? sandboxEnv(options.scratchDir).PATH ?? "";
  const script = await onPath("sphinx-build", searchPath);
  const interpreter = script === undefined ? undefined : await shebangInterpreter(script, searchPath);
  if (script === undefined) tried.push("no sphinx-build on PATH");
  else if (interpreter === undefined) tried.push(`${script} is not a Python script`);
  else {
    const viaPath = await probe(interpreter, `sphinx-build on PATH: ${script}`, options, "server");
    if ("sphinx" in viaPath) return { found: true, sphinx: viaPath.sphinx };
    if ("stopped" in viaPath) return { found: false, problem: viaPath.stopped };
    tried.push(`${script} runs ${interpreter}, which ${viaPath.reason}`);
  }

  // 3. Neither.
  const problem = `Sphinx is not installed on the server (${tried.join("; ")}): install python3-sphinx or pip install sphinx`;
  options.log.write(`${problem}\n`);
  return { found: false, problem };
}

/** What an interpreter said: its Sphinx; why not ("cannot import sphinx"); or a timeout or cancellation. */
type Probe = { sphinx: Sphinx } | { reason: string } | { stopped: string };

async function probe(
  python: string,
  via: string,
  options: FindSphinxOptions,
  whose: "build" | "server",
): Promise<Probe> {
  const common = {
    cmd: python,
    env: sandboxEnv(options.scratchDir),
    timeoutMs: options.timeoutMs,
    captureStdout: true,
  };
  const r: RunResult =
    whose === "build"
      ? await runInBuild(options, { ...common, args: ["-c", PROBE], cwd: options.scratchDir })
      : await run({
          ...common,
          args: ["-I", "-c", PROBE],
          cwd: "/",
          ...(options.signal ? { signal: options.signal } : {}),
        });
  // a timeout or a cancellation ends the search; an interpreter that cannot start or import sphinx is one candidate fewer
  const stopped = r.timedOut || r.cancelled ? cannotRun(r, python, options.timeoutMs) : undefined;
  if (stopped) return { stopped };
  if (r.spawnError) return { reason: `could not be started (${r.spawnError})` };
  if (r.exitCode !== 0) return { reason: "cannot import sphinx" };
  let reported: {
    version?: unknown;
    executable?: unknown;
    inVirtualenv?: unknown;
    sitePackages?: unknown;
    prefixes?: unknown;
  };
  try {
    reported = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "") as typeof reported;
  } catch {
    return { reason: "imports sphinx but did not say where from" };
  }
  const executable =
    typeof reported.executable === "string" && isAbsolute(reported.executable) ? reported.executable : python;
  const sphinx: Sphinx = {
    python: executable,
    version: typeof reported.version === "string" ? reported.version : "unknown",
    via,
    inVirtualenv: reported.inVirtualenv === true,
    sitePackages: absolutePaths(reported.sitePackages),
    prefixes: absolutePaths(reported.prefixes),
  };
  options.log.write(`Sphinx ${sphinx.version} (${via}): ${sphinx.python} -m sphinx\n`);
  return { sphinx };
}

function absolutePaths(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === "string" && isAbsolute(p)) : [];
}

async function onPath(command: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, command);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The interpreter of a `#!` line: `#!/usr/bin/python3 -I` → /usr/bin/python3,
 * `#!/usr/bin/env python3` → python3 looked up on `searchPath`.
 */
async function shebangInterpreter(script: string, searchPath: string): Promise<string | undefined> {
  let head: string;
  try {
    const file = await open(script, "r");
    try {
      const buffer = Buffer.alloc(256);
      const { bytesRead } = await file.read(buffer, 0, buffer.length, 0);
      head = buffer.subarray(0, bytesRead).toString("utf8");
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith("#!")) return undefined;
  const words = (head.slice(2).split("\n")[0] ?? "").trim().split(/\s+/);
  const [program, ...rest] = words;
  if (!program) return undefined;
  if (!program.endsWith("/env")) return program;
  const name = rest.find((word) => !word.startsWith("-") && !word.includes("="));
  return name === undefined ? undefined : await onPath(name, searchPath);
}
