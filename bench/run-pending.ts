import { startBenchServer } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import { envInt } from "./env-int.js";
import { measurePending } from "./measure-pending.js";
import { runAlone } from "./run-alone.js";
import { watchBuild } from "./watch-build.js";
import { tinyProject } from "./workload.js";

/**
 * Figure 2 alone (`npm run build && npx vite-node bench/run-pending.ts`): time to pending as `npm run bench`
 * measures it (measurePending: up to 40 samples within BENCH_PENDING_S, 60), on a server that has built once.
 * The samples go to stderr as JSON with BENCH_PENDING_DETAIL=1.
 */
runAlone("pending", "BENCH_PENDING_DETAIL", async (h, progress) => {
  const server = await startBenchServer(h, "main");
  try {
    const tiny = h.repo("bench-tiny", tinyProject());
    await watchBuild(h, {
      hookUrl: server.hookUrl,
      delivery: await pullRequestDelivery(h, { repo: "bench-tiny", dir: tiny.dir, number: 1, sha: tiny.sha }),
      sha: tiny.sha,
      contexts: ["ci/check", "ci/test"],
      checkRun: "pyci",
    });
    const budgetMs = envInt("BENCH_PENDING_S", 60) * 1000;
    return await measurePending(h, server, tiny, { max: 40, budgetMs }, progress);
  } finally {
    await server.stop();
  }
});
