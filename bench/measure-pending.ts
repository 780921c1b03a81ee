import type { TestRepo } from "../test/support/git-repo.js";
import type { BenchServer } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import type { Harness } from "./harness.js";
import { median, p99 } from "./stats.js";
import { type Row, within } from "./table.js";
import { watchBuild, type BuildTiming } from "./watch-build.js";

/**
 * Figure 2: delivery → the first `pending` status at the fake GitHub, with an idle queue: one delivery at a
 * time, each for a new commit of the tiny project (an empty commit, so the same tree), the next one sent
 * once the previous build has reported its final statuses, each from a new installation (its first write
 * waits for an installation token, as a first build's does). Its baseline is the same deliveries' ack time.
 * One warm-up delivery, then up to `max` samples or until `budgetMs` is spent.
 */
export async function measurePending(
  h: Harness,
  server: BenchServer,
  repo: TestRepo,
  o: { max: number; budgetMs: number },
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const samples: BuildTiming[] = [];
  const deadline = performance.now() + o.budgetMs;
  for (let i = 0; i <= o.max && (i < 6 || performance.now() < deadline); i++) {
    const sha = repo.commit({}, `pending sample ${i}`);
    // each from an installation of its own: pyci paces its writes to one installation (about one a second, as GitHub
    // asks), so that successive builds of one would wait for the previous build's final reports to go out
    const delivery = await pullRequestDelivery(h, {
      repo: "bench-tiny",
      dir: repo.dir,
      number: 200 + i,
      sha,
      installationId: 2000 + i,
    });
    const timing = await watchBuild(h, {
      hookUrl: server.hookUrl,
      delivery,
      sha,
      contexts: ["ci/check", "ci/test"],
      checkRun: "pyci",
    });
    if (i > 0) samples.push(timing);
    if (i % 5 === 0)
      progress(
        `pending sample ${i}: ${timing.pendingMs.toFixed(1)} ms to pending, build ${(timing.finalMs / 1000).toFixed(1)} s`,
      );
  }
  const pending = samples.map((s) => s.pendingMs);
  const allPending = samples.map((s) => s.allPendingMs);
  const ack = samples.map((s) => s.ackMs);
  const rows: Row[] = [
    {
      id: "pending_p99_ms",
      figure: "2. Time to pending p99",
      target: 50,
      op: "<",
      measured: p99(pending),
      unit: "ms",
      baseline: median(ack),
      baselineWhat: "ack",
      ratio: p99(pending) / median(ack),
      n: pending.length,
      met: within(p99(pending), "<", 50),
      note: `delivery → first pending status at the fake GitHub, idle queue (one build at a time, ${pending.length} samples after a warm-up; p99 of ${pending.length} samples is about their maximum); median ${median(pending).toFixed(1)} ms`,
    },
    {
      figure: "2. All pending + check run (info)",
      target: "—",
      measured: median(allPending),
      p99: p99(allPending),
      unit: "ms",
      baseline: median(ack),
      baselineWhat: "ack",
      ratio: median(allPending) / median(ack),
      n: allPending.length,
      met: null,
      note: "delivery → ci/check and ci/test pending and the check run created",
    },
  ];
  return { rows, detail: { samples: samples.map(rounded), cheapBuildMs: median(samples.map((s) => s.finalMs)) } };
}

export function rounded(t: BuildTiming): Record<string, number | string> {
  return Object.fromEntries(
    Object.entries(t).map(([k, v]) => [k, typeof v === "number" ? Math.round(v * 10) / 10 : v]),
  );
}
