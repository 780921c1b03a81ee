import { stat } from "node:fs/promises";
import { isAbsolute } from "node:path";
import type { RunOptions } from "../process/exec.js";
import { runInBuild } from "./run-in-build.js";
import type { StepContext } from "./types.js";
import { insideBuild } from "../process/sandbox/inside-build.js";

/** What of an interpreter changes what pyright or Sphinx make of a tree (a result cache key). */
export interface PythonEnvironment {
  /** sys.version, e.g. "3.12.3 (main, …) [GCC 13.2.0]". */
  version: string;
  implementation: string;
  /** Every installed distribution as "name==version", sorted. */
  distributions: string[];
  /** The pip a new virtualenv of it gets (ensurepip's), when it has one. */
  pip?: string;
}

const PROBE = `
import json, os, sys
from importlib import metadata
dists = sorted({"%s==%s" % (d.metadata["Name"], d.version) for d in metadata.distributions()})
watched = [os.path.realpath(sys.executable)] + [p for p in sys.path if os.path.isdir(p)]
try:
    import ensurepip
    pip = ensurepip.version()
except Exception:
    pip = None
print(json.dumps({"version": sys.version, "implementation": sys.implementation.name, "distributions": dists, "pip": pip, "watched": watched}))
`;

interface Known {
  environment: PythonEnvironment;
  /** The interpreter's executable and every directory its distributions are found in… */
  watched: string[];
  /** … as they were when it answered. */
  stamp: string;
}

/** The answers of interpreters that are the same in every build (the server's, not a build's virtualenv), by sandbox. */
const known = new Map<string, Known>();

/**
 * Asks `python` (run as the step runs it: same environment, same sandbox)
 * for its version and installed distributions. Paths are left out on
 * purpose: a build's virtualenv lives in its own scratch dir. Undefined
 * when the interpreter cannot tell (then nothing is cached).
 *
 * An interpreter that is not the build's own (an absolute path outside
 * `build`'s checkout and scratch dir, where its virtualenv would be) is
 * asked once: its answer is given again while its executable and the
 * directories on its sys.path are unchanged (installing, upgrading or
 * removing a distribution changes its site-packages directory). Starting
 * Python to ask costs ~0.1 s of every check.
 */
export async function pythonEnvironment(
  python: string,
  options: Omit<RunOptions, "cmd" | "args" | "log" | "captureStdout" | "sandbox" | "signal">,
  build: Pick<StepContext, "dir" | "scratchDir" | "sandbox" | "signal">,
): Promise<PythonEnvironment | undefined> {
  const stable = isAbsolute(python) && !insideBuild(python, build);
  const key = [python, build.sandbox.kind, build.sandbox.user ? "uid" : ""].join("\0");
  const before = stable ? known.get(key) : undefined;
  if (before && (await stampOf(before.watched)) === before.stamp) return before.environment;
  const r = await runInBuild(build, { ...options, cmd: python, args: ["-I", "-c", PROBE], captureStdout: true });
  if (r.exitCode !== 0) return undefined;
  let parsed: PythonEnvironment & { watched?: unknown };
  try {
    parsed = JSON.parse(r.stdout) as PythonEnvironment & { watched?: unknown };
  } catch {
    return undefined;
  }
  if (typeof parsed.version !== "string" || !Array.isArray(parsed.distributions)) return undefined;
  const environment = {
    version: parsed.version,
    implementation: String(parsed.implementation),
    distributions: parsed.distributions.map(String),
    ...(typeof parsed.pip === "string" ? { pip: parsed.pip } : {}),
  };
  const watched = Array.isArray(parsed.watched)
    ? parsed.watched.filter((p): p is string => typeof p === "string" && p.startsWith("/"))
    : [];
  if (stable && watched.length > 0) known.set(key, { environment, watched, stamp: await stampOf(watched) });
  return environment;
}

/** Each path's inode, size and modification time (or that it is gone), in one string. */
async function stampOf(paths: string[]): Promise<string> {
  const parts = await Promise.all(
    paths.map((path) =>
      stat(path, { bigint: true }).then(
        (s) => `${path}\0${s.ino}\0${s.size}\0${s.mtimeNs}`,
        () => `${path}\0-`,
      ),
    ),
  );
  return parts.join("\n");
}
