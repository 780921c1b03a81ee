import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { startBenchServer, type BenchServer } from "./bench-server.js";
import { envInt } from "./env-int.js";
import { startHarness } from "./harness.js";
import { measureHandover } from "./measure-handover.js";
import { measureThroughput, type ThroughputRun } from "./measure-scale-throughput.js";
import { startScaleCluster, type ScaleCluster } from "./scale-cluster.js";
import { median, round } from "./stats.js";
import { formatTable, machineSummary, type Row, within, writeResults } from "./table.js";
import { tinyProject } from "./workload.js";

/**
 * Scale-out's two figures (issue 17), apart from `npm run bench` (it takes about 4 minutes):
 * `npm run build && npx vite-node bench/run-scale.ts`. Progress on stderr, the table on stdout and
 * in bench/results/scale-latest.json.
 *
 * 1. The harness (fake GitHub, sshd), a real redis-server, the server with CI_REDIS_URL, and 4
 *    `pyci worker` processes of CI_CONCURRENCY BENCH_SCALE_CONCURRENCY (2) each.
 * 2. Throughput, 4 workers: a warm-up round of as many builds as the workers take at once (it fills
 *    each worker's caches), then BENCH_SCALE_BUILDS (40) pull requests at once, each of a test that
 *    sleeps BENCH_SCALE_SLEEP_S (6) seconds — waiting, not computing, so that this machine's cores
 *    are not the limit.
 * 3. Throughput, 1 worker: 3 of them stopped, the same number of new pull requests.
 * 4. Hand-over: one build at a time, delivery → the test step's first line on the live page, with
 *    the remaining worker and with a server without Redis (builds in-process), alternately,
 *    BENCH_HANDOVER_SAMPLES (10) rounds after a warm-up.
 * 5. The table.
 */
const RESULTS = fileURLToPath(new URL("./results/scale-latest.json", import.meta.url));

async function main(): Promise<void> {
  const began = performance.now();
  const loadAtStart = loadavg()[0]!;
  const progress = (msg: string) =>
    process.stderr.write(`[scale ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
  const concurrency = envInt("BENCH_SCALE_CONCURRENCY", 2);
  const builds = envInt("BENCH_SCALE_BUILDS", 40);
  const sleepS = envInt("BENCH_SCALE_SLEEP_S", 6);
  const handoverSamples = envInt("BENCH_HANDOVER_SAMPLES", 10);

  // 1. the harness and the cluster
  const h = await startHarness();
  let cluster: ScaleCluster | undefined;
  let local: BenchServer | undefined;
  try {
    const waiting = h.repo("bench-scale", waitingProject(sleepS));
    const tiny = h.repo("bench-handover", tinyProject());
    cluster = await startScaleCluster(h, "scale");
    for (const name of ["worker-1", "worker-2", "worker-3", "worker-4"]) await cluster.addWorker(name, concurrency);
    progress(`redis on port ${cluster.redis.port}, server ${cluster.server.url}, 4 workers × ${concurrency}`);
    const run = (label: string, firstNumber: number, count = builds) =>
      measureThroughput(h, {
        hookUrl: cluster!.server.hookUrl,
        repo: waiting,
        repoName: "bench-scale",
        builds: count,
        firstNumber,
        workerLogs: () => cluster!.workers.map((w) => w.output()),
        timeoutMs: builds * (sleepS + 30) * 1000,
      }).then((r) => {
        progress(
          `${label}: ${count} builds in ${(r.elapsedMs / 1000).toFixed(1)} s, taken ${r.taken.join("/")}, ci/test ${JSON.stringify(r.testStates)}`,
        );
        return r;
      });

    // 2. four workers, after a round that fills each worker's caches (pyright's result, the environment)
    await run("warm-up", 1_000, 4 * concurrency);
    const four = await run("4 workers", 10_000);
    // 3. one worker
    for (const worker of cluster.workers.slice(1)) await cluster.stopWorker(worker);
    const one = await run("1 worker", 20_000);

    // 4. hand-over
    local = await startBenchServer(h, "scale-local");
    const samples = await measureHandover(h, {
      targets: [
        { mode: "in-process", hookUrl: local.hookUrl, url: local.url },
        { mode: "worker", hookUrl: cluster.server.hookUrl, url: cluster.server.url },
      ],
      repo: tiny,
      repoName: "bench-handover",
      samples: handoverSamples,
      firstNumber: 30_000,
      progress,
    });

    // 5. the table
    const rows = [throughputRow(four, one, concurrency, sleepS), ...handoverRows(samples)];
    const results = {
      date: new Date().toISOString(),
      commit:
        git("rev-parse", "--short", "HEAD") + (git("status", "--porcelain", "--", "src", "bench") ? "+dirty" : ""),
      machine: { ...machineSummary(loadAtStart), node: process.version },
      durationS: Math.round((performance.now() - began) / 1000),
      rows: rows.map((r) => ({ ...r, measured: round(r.measured), ...(r.ratio ? { ratio: round(r.ratio, 3) } : {}) })),
      detail: {
        four,
        one,
        handover: samples,
        concurrency,
        sleepS,
        fakeGitHubViolations: h.fake.violations.slice(0, 20),
      },
    };
    writeResults(RESULTS, results);
    process.stdout.write(formatTable(results));
    progress(`results written to ${RESULTS}`);
  } finally {
    await Promise.allSettled([cluster?.stop(), local?.stop()]);
    await h.stop();
  }
}

function throughputRow(four: ThroughputRun, one: ThroughputRun, concurrency: number, sleepS: number): Row {
  const ratio = four.perSecond / one.perSecond;
  const allRan = [four, one].every((r) => r.testStates.success === r.builds);
  return {
    id: "scale_throughput_4_vs_1",
    figure: "Scale-out throughput, 4 workers / 1",
    target: 3.6,
    op: ">=",
    measured: ratio,
    unit: "x",
    baseline: one.elapsedMs,
    baselineUnit: "ms",
    baselineWhat: `${one.builds} builds on 1 worker`,
    ratio,
    n: four.builds + one.builds,
    met: allRan ? within(ratio, ">=", 3.6) : false,
    note: `${(four.elapsedMs / 1000).toFixed(1)} s for ${four.builds} builds on 4 workers (taken ${four.taken.join("/")}), CI_CONCURRENCY=${concurrency} each, tests sleeping ${sleepS} s; every ci/test success: ${allRan}`,
  };
}

function handoverRows(samples: { mode: string; firstTestLineMs: number; streamOpenMs: number }[]): Row[] {
  const of = (mode: string) => samples.filter((s) => s.mode === mode);
  const local = median(of("in-process").map((s) => s.firstTestLineMs));
  const worker = median(of("worker").map((s) => s.firstTestLineMs));
  const late = samples.filter((s) => s.firstTestLineMs - s.streamOpenMs < 5).length;
  return [
    {
      id: "handover_ms_vs_local",
      figure: "Scale-out hand-over, worker - in-process",
      target: 50,
      op: "<=",
      measured: worker - local,
      unit: "ms",
      baseline: local,
      baselineWhat: "in-process (no Redis)",
      ratio: worker / local,
      n: of("worker").length,
      met: within(worker - local, "<=", 50),
      note: `median delivery → the test step's first line on the live page: ${worker.toFixed(0)} ms with a worker, ${local.toFixed(0)} ms in-process; ${late} of ${samples.length} lines arrived as the stream opened (their times are upper bounds)`,
    },
  ];
}

/** One module and a test that waits `sleepS` seconds, printing first. */
function waitingProject(sleepS: number): Record<string, string> {
  return {
    ...tinyProject(),
    "test_wait.py": [
      "import time",
      "import unittest",
      "",
      "",
      "class WaitTest(unittest.TestCase):",
      "    def test_waits(self) -> None:",
      "        print('waiting', flush=True)",
      `        time.sleep(${sleepS})`,
      "",
    ].join("\n"),
  };
}

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8" }).trim();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
