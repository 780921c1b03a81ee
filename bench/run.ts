import { execFileSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { startBenchServer, type BenchServer } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import { envInt } from "./env-int.js";
import { startHarness } from "./harness.js";
import { measureAck } from "./measure-ack.js";
import { measureFootprint } from "./measure-footprint.js";
import { measureInstallReuse } from "./measure-install-reuse.js";
import { measureOverhead, TEST_HEAVY } from "./measure-overhead.js";
import { measureParallelTest } from "./measure-parallel-test.js";
import { measurePending } from "./measure-pending.js";
import { measureReuse } from "./measure-reuse.js";
import { measureWarm } from "./measure-warm.js";
import { round } from "./stats.js";
import { formatTable, machineSummary, type Results, type Row, within, writeResults } from "./table.js";
import { watchBuild } from "./watch-build.js";
import { docsProject, tinyProject } from "./workload.js";

/**
 * `npm run bench` (after `npm run build`): the six figures against the real server process.
 * Progress goes to stderr, the table to stdout and to bench/results/latest.json.
 *
 * 1. The harness: the fake GitHub API and a real sshd on loopback.
 * 2. Acknowledgement, on a server of its own (killed afterwards, with the builds it queued).
 * 3. The main server: its RSS after start-up, after one build, and idle.
 * 4. Time to pending, one cheap build at a time.
 * 5. Overhead: cold first builds of the generated project vs the same work by hand.
 * 6. Warm checkouts: second builds of the same repositories.
 * 7. No repeated work: the same tree again; a docs re-run. The test step alone, in 2 processes vs serial.
 *    A second build's install step, reusing the first build's environment.
 * 8. Footprint: RSS across as many cheap builds as fit (up to 1,000), after 1,000 of warm-up.
 * 9. The table.
 *
 * Budgets (environment): BENCH_BUDGET_S (1080: the whole run; repetitions past the first of figures 3–5
 * start only while their share of it lasts, figure 6b gets what is left), BENCH_REPS (3), BENCH_ACK_ROUNDS (6),
 * BENCH_PENDING_S (60), BENCH_FOOTPRINT_S (720), BENCH_FOOTPRINT_WARMUP (1000), BENCH_FOOTPRINT_BUILDS (1000).
 */
const RESULTS = fileURLToPath(new URL("./results/latest.json", import.meta.url));
const MB = 1024 * 1024;

async function main(): Promise<void> {
  const began = performance.now();
  const loadAtStart = loadavg()[0]!;
  // the whole run fits BENCH_BUDGET_S: the later phases shorten (and say so in the table) when the machine is slow
  const budgetMs = envInt("BENCH_BUDGET_S", 1080) * 1000;
  const deadline = began + budgetMs;
  const share = (fraction: number) => began + fraction * budgetMs;
  const progress = (msg: string) =>
    process.stderr.write(`[bench ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
  const rows: Row[] = [];
  const detail: Record<string, unknown> = {};

  // 1. the harness
  const h = await startHarness();
  progress(`fake GitHub on ${h.fake.host}, sshd on port ${h.sshd.port}`);
  let server: BenchServer | undefined;
  try {
    // 2. acknowledgement
    const ack = await measureAck(h, envInt("BENCH_ACK_ROUNDS", 6), progress);
    rows.push(...ack.rows);
    detail.ack = ack.detail;

    // 3. the main server, at rest and after one build
    server = await startBenchServer(h, "main");
    await sleep(2000);
    const startedMb = server.rss() / MB;
    const tiny = h.repo("bench-tiny", tinyProject());
    const first = await watchBuild(h, {
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
    await sleep(2000);
    const idleMb = server.rss() / MB;
    progress(
      `main server: RSS ${startedMb.toFixed(1)} MB after start-up, ${idleMb.toFixed(1)} MB idle after one build (${(first.finalMs / 1000).toFixed(1)} s)`,
    );
    rows.push({
      id: "idle_rss_mb",
      figure: "6. Idle RSS",
      target: 120,
      op: "<",
      measured: idleMb,
      unit: "MB",
      baseline: ack.floorRssMb,
      baselineWhat: "bare node:http",
      ratio: idleMb / ack.floorRssMb,
      n: 1,
      met: within(idleMb, "<", 120),
      note: `VmRSS of node dist/server.js, idle after start-up and one build; ${startedMb.toFixed(1)} MB right after start-up`,
    });

    // 4. time to pending
    const pending = await measurePending(
      h,
      server,
      tiny,
      { max: 40, budgetMs: envInt("BENCH_PENDING_S", 60) * 1000 },
      progress,
    );
    rows.push(...pending.rows);
    detail.pending = pending.detail;

    // 5. overhead
    const overhead = await measureOverhead(
      h,
      server,
      { reps: envInt("BENCH_REPS", 3), openUntil: share(0.5) },
      progress,
    );
    rows.push(...overhead.rows);
    detail.overhead = overhead.detail;
    // 5b. the same on a test-heavy project, its tests across cores
    const testHeavy = await measureOverhead(
      h,
      server,
      { reps: envInt("BENCH_REPS", 3), openUntil: share(0.56), workload: TEST_HEAVY },
      progress,
    );
    rows.push(...testHeavy.rows);
    detail.testHeavy = testHeavy.detail;

    // 6. warm checkouts
    const warm = await measureWarm(h, server, overhead.repos, share(0.62), progress);
    rows.push(...warm.rows);
    detail.warm = warm.detail;

    // 7. no repeated work
    const reuse = await measureReuse(
      h,
      server,
      warm.builds,
      h.repo("bench-docs", docsProject()),
      share(0.72),
      progress,
    );
    rows.push(...reuse.rows);
    detail.reuse = reuse.detail;
    // 7b. the test step across cores (without the server)
    const parallelTest = await measureParallelTest(envInt("BENCH_REPS", 3), progress);
    rows.push(...parallelTest.rows);
    detail.parallelTest = parallelTest.detail;
    // 7c. a second build's install step, its environment reused
    const install = await measureInstallReuse(h, server, progress);
    rows.push(...install.rows);
    detail.installReuse = install.detail;

    // 8. footprint
    const footprint = await measureFootprint(
      h,
      server,
      tiny,
      {
        warmup: envInt("BENCH_FOOTPRINT_WARMUP", 1000),
        max: envInt("BENCH_FOOTPRINT_BUILDS", 1000),
        budgetMs: Math.max(
          20_000,
          Math.min(envInt("BENCH_FOOTPRINT_S", 720) * 1000, deadline - performance.now() - 20_000),
        ),
      },
      progress,
    );
    rows.push(...footprint.rows);
    detail.footprint = footprint.detail;
    detail.fakeGitHub = {
      requests: h.fake.requests.length,
      violations: h.fake.violations.slice(0, 20),
      unexpected: h.fake.unexpected.length,
    };
  } catch (error) {
    if (server) process.stderr.write(`--- server output (tail) ---\n${server.process.output().slice(-6000)}\n`);
    throw error;
  } finally {
    await server?.stop();
    await h.stop();
  }

  // 9. the table
  const results: Results = {
    date: new Date().toISOString(),
    commit:
      git("rev-parse", "--short", "HEAD") +
      (git("status", "--porcelain", "--untracked-files=no", "--", "src") ? "+dirty" : ""),
    machine: {
      ...machineSummary(loadAtStart),
      node: process.version,
      git: git("--version"),
      python: execFileSync("python3", ["--version"], { encoding: "utf8" }).trim(),
      pyright: execFileSync(fileURLToPath(new URL("../node_modules/.bin/pyright", import.meta.url)), ["--version"], {
        encoding: "utf8",
      }).trim(),
    },
    durationS: Math.round((performance.now() - began) / 1000),
    rows: rows.map((r) => ({
      ...r,
      measured: round(r.measured),
      ...(r.p99 !== undefined ? { p99: round(r.p99) } : {}),
      ...(r.baseline !== undefined ? { baseline: round(r.baseline) } : {}),
      ...(r.ratio !== undefined ? { ratio: round(r.ratio, 3) } : {}),
    })),
    detail,
  };
  writeResults(RESULTS, results);
  process.stdout.write(formatTable(results));
  progress(`results written to ${RESULTS}`);
}

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: fileURLToPath(new URL("..", import.meta.url)), encoding: "utf8" }).trim();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
