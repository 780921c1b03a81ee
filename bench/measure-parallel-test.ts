import { testStep } from "../src/pipeline/steps/test.js";
import type { RepoConfig, StepResult } from "../src/pipeline/types.js";
import { stepContext } from "../test/support/step-context.js";
import { median } from "./stats.js";
import { type Row, within } from "./table.js";
import { WAITING_MODULES, waitingSuite, waitingTests } from "./workload.js";

/** Test modules of the workload, and the target of the issue for `parallel_test_ratio`. */
const MODULES = WAITING_MODULES;
const TARGET = 0.65;

/**
 * `parallel_test_ratio`: the test step alone (pyci's runner, real Python, no sandbox) on a generated
 * suite shaped like a real project's — MODULES test modules of uneven size whose tests take most of
 * the step's time (waits on I/O and some CPU) — with `test.parallel: 2` against the same step serial,
 * run alternately `reps` times each. The parallel runs are balanced by the durations of the serial run
 * before them, as a build is by the repository's last build.
 */
export async function measureParallelTest(
  reps: number,
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const serial: number[] = [];
  const parallel: number[] = [];
  let durations = new Map<string, number>();
  for (let rep = 0; rep < reps; rep++) {
    const one = await runStep(undefined, durations);
    const two = await runStep(2, durations);
    durations = new Map((one.tests ?? []).map((t) => [t.id, t.durationMs]));
    serial.push(one.durationMs);
    parallel.push(two.durationMs);
    progress(
      `test step: serial ${(one.durationMs / 1000).toFixed(1)} s, parallel: 2 ${(two.durationMs / 1000).toFixed(1)} s`,
    );
  }
  const ratio = median(parallel) / median(serial);
  return {
    rows: [
      {
        id: "parallel_test_ratio",
        figure: "7. Test step, 2 processes / serial",
        target: TARGET,
        op: "<=",
        measured: ratio,
        unit: "x",
        baseline: median(serial),
        baselineUnit: "ms",
        baselineWhat: "serial test step",
        ratio,
        n: reps,
        met: within(ratio, "<=", TARGET),
        note: `${median(parallel).toFixed(0)} ms: the test step with test.parallel: 2 against the same step serial, ${MODULES} generated test modules; same counts required`,
      },
    ],
    detail: { serial, parallel },
  };
}

async function runStep(parallel: RepoConfig["test"]["parallel"], durations: Map<string, number>): Promise<StepResult> {
  const made = stepContext(waitingSuite(MODULES), {
    repoConfig: { test: { startDir: ".", pattern: "test*.py", parallel } },
  });
  try {
    if (durations.size > 0) made.ctx.testDurations = durations;
    const result = await testStep.run(made.ctx);
    const run = result.testCounts?.run ?? 0;
    if (result.state !== "success" || run !== waitingTests(MODULES)) {
      throw new Error(
        `the test step did not pass all ${waitingTests(MODULES)} tests: ${result.summary}\n${made.log().slice(-2000)}`,
      );
    }
    return result;
  } finally {
    made.remove();
  }
}
