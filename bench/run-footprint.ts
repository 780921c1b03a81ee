import { startBenchServer } from "./bench-server.js";
import { envInt } from "./env-int.js";
import { pullRequestDelivery } from "./deliver.js";
import { measureFootprint } from "./measure-footprint.js";
import { runAlone } from "./run-alone.js";
import { watchBuild } from "./watch-build.js";
import { tinyProject } from "./workload.js";

/**
 * Figure 6b alone (`npm run build && npx vite-node bench/run-footprint.ts`): the server's RSS across
 * BENCH_FOOTPRINT_BUILDS (1000) cheap builds after BENCH_FOOTPRINT_WARMUP (1000), measured as `npm run bench`
 * does (measureFootprint), with a budget of its own, BENCH_FOOTPRINT_S (1200). The RSS samples go to stderr as JSON with BENCH_FOOTPRINT_DETAIL=1.
 */
runAlone("footprint", "BENCH_FOOTPRINT_DETAIL", async (h, progress) => {
  const server = await startBenchServer(h, "footprint");
  try {
    const tiny = h.repo("bench-tiny", tinyProject());
    await watchBuild(h, {
      hookUrl: server.hookUrl,
      delivery: await pullRequestDelivery(h, {
        repo: "bench-tiny",
        dir: tiny.dir,
        number: 1,
        sha: tiny.sha,
        action: "opened",
      }),
      sha: tiny.sha,
      contexts: ["ci/check", "ci/test"],
      checkRun: "pyci",
    });
    const max = envInt("BENCH_FOOTPRINT_BUILDS", 1000);
    const warmup = envInt("BENCH_FOOTPRINT_WARMUP", 1000);
    const budgetS = envInt("BENCH_FOOTPRINT_S", 1200);
    return await measureFootprint(h, server, tiny, { warmup, max, budgetMs: budgetS * 1000 }, progress);
  } finally {
    await server.stop();
  }
});
