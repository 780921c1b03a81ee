import { cpus, loadavg } from "node:os";
import { startBenchServer } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import { startHarness } from "./harness.js";
import { measureFootprint } from "./measure-footprint.js";
import { formatTable } from "./table.js";
import { watchBuild } from "./watch-build.js";
import { tinyProject } from "./workload.js";

/**
 * Figure 6b alone (`npm run build && npx vite-node bench/run-footprint.ts`): the server's RSS across
 * BENCH_FOOTPRINT_BUILDS (1000) cheap builds, measured as `npm run bench` does (measureFootprint), with a
 * budget of its own, BENCH_FOOTPRINT_S (900): the whole run's ten minutes hold only part of the 1,000 builds
 * on 2 cores. The RSS samples go to stderr as JSON with BENCH_FOOTPRINT_DETAIL=1.
 */
async function main(): Promise<void> {
  const began = performance.now();
  const loadAtStart = loadavg()[0]!;
  const progress = (msg: string) => process.stderr.write(`[footprint ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
  const h = await startHarness();
  const server = await startBenchServer(h, "footprint");
  try {
    const tiny = h.repo("bench-tiny", tinyProject());
    await watchBuild(h, {
      hookUrl: server.hookUrl,
      delivery: await pullRequestDelivery(h, { repo: "bench-tiny", dir: tiny.dir, number: 1, sha: tiny.sha, action: "opened" }),
      sha: tiny.sha,
      contexts: ["ci/check", "ci/test"],
      checkRun: "pyci",
    });
    const max = Number(process.env.BENCH_FOOTPRINT_BUILDS) > 0 ? Number(process.env.BENCH_FOOTPRINT_BUILDS) : 1000;
    const budgetS = Number(process.env.BENCH_FOOTPRINT_S) > 0 ? Number(process.env.BENCH_FOOTPRINT_S) : 900;
    const footprint = await measureFootprint(h, server, tiny, { max, budgetMs: budgetS * 1000 }, progress);
    if (process.env.BENCH_FOOTPRINT_DETAIL === "1") process.stderr.write(`${JSON.stringify(footprint.detail)}\n`);
    process.stdout.write(
      formatTable({
        date: new Date().toISOString(),
        commit: "-",
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", loadAverage1mAtStart: round(loadAtStart), loadAverage1mAtEnd: round(loadavg()[0]!) },
        durationS: Math.round((performance.now() - began) / 1000),
        rows: footprint.rows,
        detail: {},
      }),
    );
  } finally {
    await server.stop();
    await h.stop();
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
