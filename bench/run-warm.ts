import { startBenchServer } from "./bench-server.js";
import { envInt } from "./env-int.js";
import { measureOverhead } from "./measure-overhead.js";
import { measureWarm } from "./measure-warm.js";
import { runAlone } from "./run-alone.js";

/**
 * Figures 3 and 4 alone (`npm run build && npx vite-node bench/run-warm.ts`): first builds of the generated
 * project against the same work by hand, then second builds of the same repositories, measured as
 * `npm run bench` does (measureOverhead, measureWarm), in about a minute. BENCH_REPS (2) measured
 * repetitions after the warm-up; the raw samples go to stderr as JSON with BENCH_WARM_DETAIL=1.
 */
runAlone("warm", "BENCH_WARM_DETAIL", async (h, progress) => {
  const server = await startBenchServer(h, "warm");
  try {
    const reps = envInt("BENCH_REPS", 2);
    const overhead = await measureOverhead(h, server, { reps, openUntil: Number.POSITIVE_INFINITY }, progress);
    const warm = await measureWarm(h, server, overhead.repos, Number.POSITIVE_INFINITY, progress);
    return { rows: [...overhead.rows, ...warm.rows], detail: { overhead: overhead.detail, warm: warm.detail } };
  } finally {
    await server.stop();
  }
});
