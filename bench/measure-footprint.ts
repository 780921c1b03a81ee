import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { TestRepo } from "../test/support/git-repo.js";
import type { BenchServer } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import type { Harness } from "./harness.js";
import { median, round, slope, theilSen } from "./stats.js";
import type { Row } from "./table.js";
import { watchBuild } from "./watch-build.js";

const MB = 1024 * 1024;
/** Builds in flight at once: the server's two slots, and two waiting. */
const IN_FLIGHT = 4;
const SAMPLE_EVERY_BUILDS = 100;
/**
 * The builds are spread over this many installations: GitHub paces writes per installation (pyci sends about
 * one a second to each), so one installation would bound the count at about one cheap build per 7 s,
 * whatever the server's memory does. Many installations also exercise per-installation state (tokens, pacing).
 */
const INSTALLATIONS = 50;
const SAMPLE_EVERY_MS = 10_000;
/** "No growth beyond noise": the fitted growth over 1,000 builds stays under max(5 MB, 5% of the starting RSS). */
const NOISE_MB = 5;
const NOISE_SHARE = 0.05;
/** Below this many builds the fitted slope is noise: no verdict. */
const MIN_BUILDS = 100;
const WARMUP_PROGRESS_EVERY = 250;

/**
 * Figure 6b: the server's RSS across many cheap builds. A cheap build is a full pull-request build
 * (delivery, pending, checkout over SSH, check, test, final reports) of the tiny project (one module,
 * one test) at a new commit with the same tree — what the object and result caches make cheap.
 * IN_FLIGHT deliveries are outstanding at a time, each for its own pull request, round-robin over INSTALLATIONS
 * installations. The first `warmup` builds are not measured: a new server's V8 heap grows to its working
 * size over its first ~1,000 cheap builds (JavaScript heap in use flat at ~30 MB after each collection, the
 * heap V8 reserves 39 → 48 MB, the rest of the RSS flat; docs/benchmarks.md). After them the server's VmRSS
 * is read every 100 finished builds and every 10 s. Stops at `max` measured builds or when `budgetMs` is spent.
 */
export async function measureFootprint(
  h: Harness,
  server: BenchServer,
  repo: TestRepo,
  o: { warmup: number; max: number; budgetMs: number },
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const shas = emptyCommits(repo, o.warmup + o.max);
  const samples: { builds: number; seconds: number; rssMb: number; anonMb: number; fileMb: number }[] = [];
  const started = performance.now();
  const sample = () => {
    const parts = server.rssParts();
    samples.push({
      builds: measured(),
      seconds: (performance.now() - started) / 1000,
      rssMb: server.rss() / MB,
      anonMb: parts.anon / MB,
      fileMb: parts.file / MB,
    });
  };
  let next = 0;
  let finished = 0;
  // builds measured: past the warm-up
  const measured = () => Math.max(0, finished - o.warmup);
  const buildMs: number[] = [];
  let ticker: NodeJS.Timeout | undefined;
  const startSampling = () => {
    sample();
    ticker = setInterval(sample, SAMPLE_EVERY_MS);
  };
  const warmupRssMb = server.rss() / MB;
  if (o.warmup === 0) startSampling();
  try {
    const worker = async () => {
      while (next < shas.length && performance.now() - started < o.budgetMs) {
        const i = next++;
        const delivery = await pullRequestDelivery(h, {
          repo: "bench-tiny",
          dir: repo.dir,
          number: 5000 + i,
          sha: shas[i]!,
          installationId: 1000 + (i % INSTALLATIONS),
        });
        const timing = await watchBuild(h, {
          hookUrl: server.hookUrl,
          delivery,
          sha: shas[i]!,
          contexts: ["ci/check", "ci/test"],
          checkRun: "pyci",
        });
        buildMs.push(timing.finalMs);
        finished++;
        if (finished <= o.warmup) {
          if (finished % WARMUP_PROGRESS_EVERY === 0 || finished === o.warmup)
            progress(`footprint: warm-up, ${finished} builds, RSS ${(server.rss() / MB).toFixed(1)} MB`);
          if (finished === o.warmup) startSampling();
          continue;
        }
        if (measured() % SAMPLE_EVERY_BUILDS === 0) {
          sample();
          progress(`footprint: ${measured()} builds, RSS ${samples.at(-1)!.rssMb.toFixed(1)} MB`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    clearInterval(ticker);
  }
  // the warm-up took the whole budget: the one sample says so (no verdict)
  if (samples.length === 0) sample();
  sample();
  const done = measured();
  const seconds = (performance.now() - started) / 1000;
  progress(
    `footprint: ${done} builds in ${seconds.toFixed(0)} s, RSS ${samples[0]!.rssMb.toFixed(1)} → ${samples.at(-1)!.rssMb.toFixed(1)} MB`,
  );

  // the fit leaves out the first fifth of the run (start-up allocations, JIT, caches filling)
  const fitted = samples.filter((s) => s.builds >= done / 5);
  // RSS peaks before each major GC (tens of MB, a few samples at a time): a robust fit, so that they do not set the trend
  const perBuildMb = theilSen(fitted.map((s) => ({ x: s.builds, y: s.rssMb })));
  const leastSquaresMb = slope(fitted.map((s) => ({ x: s.builds, y: s.rssMb }))) * 1000;
  const startMb = samples[0]!.rssMb;
  const endMb = samples.at(-1)!.rssMb;
  const projected = perBuildMb * 1000;
  // the bound from the fresh server's RSS, as before the warm-up was added (the warmed-up one is higher)
  const bound = Math.max(NOISE_MB, NOISE_SHARE * warmupRssMb);
  // fewer than MIN_BUILDS builds say nothing about a trend; short of 1,000 a flat line is not yet the target
  const met =
    done < MIN_BUILDS || !Number.isFinite(projected) ? null : projected > bound ? false : done >= 1000 ? true : null;
  const rows: Row[] = [
    {
      id: "rss_mb_per_100_builds",
      figure: "6. RSS over cheap builds",
      // flat: under the noise bound over 1,000 builds, i.e. a tenth of it per 100 builds
      target: bound / 10,
      op: "<",
      measured: perBuildMb * 100,
      unit: "MB/100 builds",
      baseline: startMb,
      baselineWhat: "at start",
      baselineUnit: "MB",
      ratio: endMb / startMb,
      n: done,
      met,
      note:
        `${done} cheap builds after ${Math.min(finished, o.warmup)} of warm-up (RSS ${warmupRssMb.toFixed(1)} MB before it; tiny project, new commit, same tree; ${IN_FLIGHT} in flight, ${INSTALLATIONS} installations) in ${seconds.toFixed(0)} s` +
        `${done < o.max ? ` — ${o.max} did not fit the ${Math.round(o.budgetMs / 1000)} s budget` : ""}; ` +
        `RSS ${startMb.toFixed(1)} → ${endMb.toFixed(1)} MB; flat = growth over 1,000 builds, fitted (Theil–Sen) past the first fifth, < ${bound.toFixed(1)} MB ` +
        `(projected ${Number.isFinite(projected) ? projected.toFixed(1) : "n/a"} MB, by least squares ${Number.isFinite(leastSquaresMb) ? leastSquaresMb.toFixed(1) : "n/a"} MB` +
        `${done < MIN_BUILDS ? `; under ${MIN_BUILDS} builds: no verdict` : ""}); median cheap build ${(median(buildMs) / 1000).toFixed(2)} s`,
    },
  ];
  return {
    rows,
    detail: {
      samples: samples.map((s) => ({
        builds: s.builds,
        seconds: round(s.seconds, 1),
        rssMb: round(s.rssMb, 1),
        anonMb: round(s.anonMb, 1),
        fileMb: round(s.fileMb, 1),
      })),
    },
  };
}

/** `count` empty commits on top of `repo`'s head (the same tree), made by one `git fast-import`; their SHAs in order. */
function emptyCommits(repo: TestRepo, count: number): string[] {
  const parent = repo.sha;
  const when = Math.floor(Date.now() / 1000);
  let stream = "";
  for (let i = 1; i <= count; i++) {
    const message = `cheap build ${i}\n`;
    stream += `commit refs/heads/cheap\nmark :${i}\ncommitter Bench <bench@example.com> ${when + i} +0000\ndata ${Buffer.byteLength(message)}\n${message}`;
    stream += i === 1 ? `from ${parent}\n\n` : `from :${i - 1}\n\n`;
  }
  const marks = join(repo.dir, ".git", "bench-marks");
  execFileSync("git", ["fast-import", "--quiet", `--export-marks=${marks}`], { cwd: repo.dir, input: stream });
  const byMark = new Map(
    readFileSync(marks, "utf8")
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
  return Array.from({ length: count }, (_, i) => byMark.get(`:${i + 1}`)!);
}
