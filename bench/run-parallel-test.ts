import { envInt } from "./env-int.js";
import { measureParallelTest } from "./measure-parallel-test.js";
import { runAlone } from "./run-alone.js";

/**
 * `parallel_test_ratio` alone (`npx vite-node bench/run-parallel-test.ts`): the test step serial and with
 * `test.parallel: 2`, BENCH_REPS (3) times each; the raw samples go to stderr as JSON with
 * BENCH_PARALLEL_DETAIL=1.
 */
runAlone("parallel-test", "BENCH_PARALLEL_DETAIL", (_h, progress) =>
  measureParallelTest(envInt("BENCH_REPS", 3), progress),
);
