import { spawnSync } from "node:child_process";
import type { TestCounts } from "../../src/pipeline/types.js";

/** What `python -m unittest -v` prints and its figures, read from its own summary lines. */
export interface UnittestOwn {
  output: string;
  counts: TestCounts;
}

const KEYS: Record<string, keyof TestCounts> = {
  failures: "failures",
  errors: "errors",
  skipped: "skipped",
  "expected failures": "expectedFailures",
  "unexpected successes": "unexpectedSuccesses",
};

/**
 * Runs `python -m unittest -v` (discovery from `dir`, its defaults) and reads
 * "Ran N tests in …" and "OK (skipped=1)" / "FAILED (failures=2, errors=1)":
 * the figures pyci must report for the same tree.
 */
export function runUnittest(python: string, dir: string): UnittestOwn {
  const r = spawnSync(python, ["-m", "unittest", "-v"], { cwd: dir, encoding: "utf8" });
  const output = `${r.stdout}${r.stderr}`;
  const ran = /^Ran (\d+) tests? in /m.exec(output);
  const verdict = /^(?:OK|FAILED)(?: \((.*)\))?$/m.exec(output);
  if (!ran || !verdict) throw new Error(`python -m unittest printed no summary:\n${output}`);
  const counts: TestCounts = {
    run: Number(ran[1]),
    failures: 0,
    errors: 0,
    skipped: 0,
    expectedFailures: 0,
    unexpectedSuccesses: 0,
  };
  for (const item of (verdict[1] ?? "").split(", ").filter(Boolean)) {
    const [name = "", n = ""] = item.split("=");
    const key = KEYS[name];
    if (!key) throw new Error(`python -m unittest printed an unknown figure ${item}`);
    counts[key] = Number(n);
  }
  return { output, counts };
}
