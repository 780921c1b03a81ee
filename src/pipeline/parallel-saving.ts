import type { TestCaseResult } from "./types.js";

/** A test step shorter than this is not worth a note. */
export const LONG_TEST_STEP_MS = 60_000;
/** Nor is a saving smaller than this share of the step. */
const WORTH = 0.2;

/**
 * What `test.parallel` would likely save a serial test step that took
 * `durationMs`, as a sentence for the report, or undefined when the step
 * is short or the saving small: this run's test durations dealt by class
 * over `processes` (longest first, to the least loaded), plus what the
 * step spent outside tests (the interpreter, imports), which each process
 * pays again.
 */
export function parallelSavingNote(tests: TestCaseResult[], durationMs: number, processes: number): string | undefined {
  if (processes < 2 || durationMs < LONG_TEST_STEP_MS) return undefined;
  // each run of a test once (the results of its subtests share its duration), summed by class
  const runs = new Map<string, number>();
  for (const t of tests) runs.set(`${t.id}\0${t.module ?? ""}`, t.durationMs);
  const classes = new Map<string, number>();
  for (const [key, ms] of runs) {
    const id = key.slice(0, key.indexOf("\0"));
    const unit = id.includes(".") ? id.slice(0, id.lastIndexOf(".")) : id;
    classes.set(unit, (classes.get(unit) ?? 0) + ms);
  }
  const loads = new Array<number>(processes).fill(0);
  for (const ms of [...classes.values()].sort((a, b) => b - a)) {
    const least = loads.indexOf(Math.min(...loads));
    loads[least] = (loads[least] ?? 0) + ms;
  }
  const inTests = [...runs.values()].reduce((sum, ms) => sum + ms, 0);
  const likely = Math.max(0, durationMs - inTests) + Math.max(...loads);
  if (durationMs - likely < durationMs * WORTH) return undefined;
  return `The tests took ${seconds(durationMs)} in one process; with test.parallel: auto in .github/pyci.yml (${processes} processes on this server) they would likely take about ${seconds(likely)}.`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
