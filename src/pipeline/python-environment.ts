import { run, type RunOptions } from "./exec.js";

/** What of an interpreter changes what pyright or Sphinx make of a tree (a result cache key). */
export interface PythonEnvironment {
  /** sys.version, e.g. "3.12.3 (main, …) [GCC 13.2.0]". */
  version: string;
  implementation: string;
  /** Every installed distribution as "name==version", sorted. */
  distributions: string[];
}

const PROBE = `
import json, sys
from importlib import metadata
dists = sorted({"%s==%s" % (d.metadata["Name"], d.version) for d in metadata.distributions()})
print(json.dumps({"version": sys.version, "implementation": sys.implementation.name, "distributions": dists}))
`;

/**
 * Asks `python` (run as the step runs it: same environment, same sandbox)
 * for its version and installed distributions. Paths are left out on
 * purpose: a build's virtualenv lives in its own scratch dir. Undefined
 * when the interpreter cannot tell (then nothing is cached).
 */
export async function pythonEnvironment(python: string, options: Omit<RunOptions, "cmd" | "args" | "log" | "captureStdout">): Promise<PythonEnvironment | undefined> {
  const r = await run({ ...options, cmd: python, args: ["-I", "-c", PROBE], captureStdout: true });
  if (r.exitCode !== 0) return undefined;
  try {
    const parsed = JSON.parse(r.stdout) as PythonEnvironment;
    if (typeof parsed.version !== "string" || !Array.isArray(parsed.distributions)) return undefined;
    return { version: parsed.version, implementation: String(parsed.implementation), distributions: parsed.distributions.map(String) };
  } catch {
    return undefined;
  }
}
