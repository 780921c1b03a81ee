import { join } from "node:path";
import type { LogSink } from "../../model/log-sink.js";
import { writeBuildFile } from "../../process/sandbox/write-build-file.js";
import { plural } from "../../text/plural.js";
import { isFailing, mergeTestRuns, passedAlone } from "../merge-test-runs.js";
import type { StepContext } from "../types.js";
import { runUnittestProcess, type UnittestRun } from "./unittest-process.js";

type Ran = Extract<UnittestRun, { ok: true }>;

/** More tests than this failing in parallel are not run again alone: that many are not a matter of shared state. */
const MAX_RETRIED = 100;
/** The most of one process's console kept for the log (the log has its own cap beyond). */
const MAX_CONSOLE_CHARS = 16 * 1024 * 1024;

/**
 * The suite split over `processes` runs of pyci's runner side by side, in
 * the build's sandbox, then the tests that failed run again alone:
 * 1. the durations of the last build, for the runner to balance the shares;
 * 2. the shares, each console written to the log whole when its process ends;
 * 3. the shares checked to be one deal of the same suite (else the suite runs
 *    again in one process);
 * 4. their results merged; the tests that failed run again alone, and those
 *    that then pass count as passed, flagged `onlyInParallel`.
 */
export async function runTestsInParallel(ctx: StepContext, processes: number): Promise<UnittestRun> {
  // 1. the weights
  const weights: string[] = [];
  if (ctx.testDurations && ctx.testDurations.size > 0) {
    const path = join(ctx.scratchDir, "unittest-weights.json");
    await writeBuildFile(path, JSON.stringify(Object.fromEntries(ctx.testDurations)));
    weights.push("--weights", path);
  }

  // 2. the shares
  const started = performance.now();
  const runs = await Promise.all(
    Array.from({ length: processes }, async (_, i) => {
      const console = new KeptConsole();
      const run = await runUnittestProcess(ctx, {
        resultsPath: join(ctx.scratchDir, `unittest-results-${i + 1}.json`),
        select: ["--shard", `${i + 1}/${processes}`, ...weights],
        log: console,
      });
      ctx.log.write(`\n── tests, process ${i + 1} of ${processes} ──\n${console.text()}`);
      return run;
    }),
  );
  const elapsed = () => Math.round(performance.now() - started);
  const broken = runs.findIndex((r) => !r.ok);
  if (broken >= 0) {
    const run = runs[broken] as Extract<UnittestRun, { ok: false }>;
    return { ...run, durationMs: elapsed(), problem: `Test process ${broken + 1} of ${processes}: ${run.problem}` };
  }
  const shares = runs as Ran[];

  // 3. one deal of one suite
  if (!oneDeal(shares)) {
    ctx.log.write(
      "\n[pyci: the test processes discovered different tests (tests made at random, or imports that differ between runs); running them in one process]\n",
    );
    return runUnittestProcess(ctx, { resultsPath: join(ctx.scratchDir, "unittest-results.json") });
  }

  // 4. merged, and what failed run again alone
  const merged = mergeTestRuns(shares);
  const retried = await runAlone(ctx, merged, ctx.timeoutMs - elapsed());
  return { ok: true, ...retried, durationMs: elapsed() };
}

function oneDeal(shares: Ran[]): boolean {
  const first = shares[0]?.selection;
  if (!first?.fingerprint || first.tests === undefined) return false;
  const selected = shares.reduce((sum, s) => sum + (s.selection?.selected ?? 0), 0);
  return selected === first.tests && shares.every((s) => s.selection?.fingerprint === first.fingerprint);
}

async function runAlone(ctx: StepContext, run: ReturnType<typeof mergeTestRuns>, timeoutMs: number) {
  const failing = [...new Set(run.tests.filter(isFailing).map((t) => t.id))];
  if (failing.length === 0) return run;
  if (failing.length > MAX_RETRIED || timeoutMs <= 0) {
    ctx.log.write(`\n[pyci: ${plural(failing.length, "test")} failed in parallel; not run again alone]\n`);
    return run;
  }
  const ids = join(ctx.scratchDir, "unittest-retry.json");
  await writeBuildFile(ids, JSON.stringify(failing));
  ctx.log.write(`\n── run again alone: ${plural(failing.length, "test")} that failed in parallel ──\n`);
  const alone = await runUnittestProcess(ctx, {
    resultsPath: join(ctx.scratchDir, "unittest-results-alone.json"),
    select: ["--only", ids],
    timeoutMs,
  });
  if (!alone.ok) {
    ctx.log.write(`\n[pyci: the run alone did not finish (${alone.problem}); the results in parallel stand]\n`);
    return run;
  }
  return passedAlone(run, alone);
}

/** A process's console, kept until it ends so that its tests' output reads in one piece. */
class KeptConsole implements LogSink {
  private readonly parts: string[] = [];
  private size = 0;
  private dropped = 0;

  write(text: string): void {
    if (this.size + text.length > MAX_CONSOLE_CHARS) {
      this.dropped += text.length;
      return;
    }
    this.parts.push(text);
    this.size += text.length;
  }

  text(): string {
    const cut = this.dropped > 0 ? `\n[pyci: ${this.dropped} more characters of this process's output not kept]\n` : "";
    return `${this.parts.join("")}${cut}`;
  }
}
