import { startBenchServer } from "./bench-server.js";
import { envInt } from "./env-int.js";
import { measureOverhead, TEST_HEAVY } from "./measure-overhead.js";
import { runAlone } from "./run-alone.js";

/**
 * Figure 3b alone (`npm run build && npx vite-node bench/run-test-heavy.ts`): first builds of the
 * test-heavy project (`test.parallel: auto`) against the same work by hand, as `npm run bench` measures
 * them, in about two minutes. BENCH_REPS (2) measured repetitions after the warm-up; the raw samples go
 * to stderr as JSON with BENCH_TEST_HEAVY_DETAIL=1.
 */
runAlone("test-heavy", "BENCH_TEST_HEAVY_DETAIL", async (h, progress) => {
  const server = await startBenchServer(h, "test-heavy");
  try {
    const reps = envInt("BENCH_REPS", 2);
    const overhead = await measureOverhead(
      h,
      server,
      { reps, openUntil: Number.POSITIVE_INFINITY, workload: TEST_HEAVY },
      progress,
    );
    return { rows: overhead.rows, detail: overhead.detail };
  } finally {
    await server.stop();
  }
});
