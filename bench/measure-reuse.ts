import type { TestRepo } from "../test/support/git-repo.js";
import type { BenchServer, BuildJson } from "./bench-server.js";
import { pullRequestDelivery, rerunDelivery } from "./deliver.js";
import type { Harness } from "./harness.js";
import { fmt, stepDurations, stepMs } from "./measure-overhead.js";
import { rounded } from "./measure-pending.js";
import type { WarmBuild } from "./measure-warm.js";
import { median } from "./stats.js";
import type { Row } from "./table.js";
import { watchBuild } from "./watch-build.js";

/**
 * Figure 5: no repeated work.
 * - check: a third build of each repository, an empty commit on top of the warm build's (the same tree,
 *   the same pyright and config): its check step against the warm build's check step of that tree;
 * - docs: a merged pull request's docs build, then GitHub's "Re-run" of its check run (the same commit):
 *   the re-run's docs step against the first one's.
 * A step is counted as reused when the build record says so (its `reused` names the earlier build);
 * the time it took is shown beside the first run's. Repositories past the first only before `openUntil`.
 */
export async function measureReuse(
  h: Harness,
  server: BenchServer,
  warmBuilds: WarmBuild[],
  docsRepo: TestRepo,
  openUntil: number,
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const again: { first: BuildJson; second: BuildJson; finalMs: number }[] = [];
  for (const [i, warm] of warmBuilds.entries()) {
    if (i > 0 && performance.now() > openUntil) break;
    const sha = warm.cold.repo.commit({}, "the same tree again");
    const delivery = await pullRequestDelivery(h, {
      repo: warm.cold.name,
      dir: warm.cold.repo.dir,
      number: warm.cold.prNumber,
      sha,
    });
    const timing = await watchBuild(h, {
      hookUrl: server.hookUrl,
      delivery,
      sha,
      contexts: ["ci/check", "ci/test"],
      checkRun: "pyci",
    });
    const second = await server.build(timing.buildId);
    again.push({ first: warm.build, second, finalMs: timing.finalMs });
    progress(
      `same-tree build ${i}: check ${fmt(stepMs(second, "check"))} (first ${fmt(stepMs(warm.build, "check"))}), build ${fmt(timing.finalMs)}`,
    );
  }
  const checkReused = again.map((a) => reused(a.second, "check"));
  const check = median(again.map((a) => stepMs(a.second, "check")));
  const checkFirst = median(again.map((a) => stepMs(a.first, "check")));

  // docs: the merge, then a re-run of the same commit
  const merged = await pullRequestDelivery(h, {
    repo: "bench-docs",
    dir: docsRepo.dir,
    number: 900,
    sha: docsRepo.sha,
    action: "closed",
    merged: true,
  });
  const docsWatch = { sha: docsRepo.sha, contexts: ["ci/docs"], checkRun: "pyci docs", hookUrl: server.hookUrl };
  const first = await watchBuild(h, { ...docsWatch, delivery: merged });
  const firstBuild = await server.build(first.buildId);
  const rerun = await watchBuild(h, {
    ...docsWatch,
    delivery: await rerunDelivery(h, { repo: "bench-docs", dir: docsRepo.dir, sha: docsRepo.sha, name: "pyci docs" }),
  });
  const rerunBuild = await server.build(rerun.buildId);
  const docsReused = reused(rerunBuild, "docs");
  progress(
    `docs: first ${fmt(stepMs(firstBuild, "docs"))}, re-run ${fmt(stepMs(rerunBuild, "docs"))}${docsReused ? " (reused)" : ""}`,
  );

  const rows: Row[] = [
    {
      figure: "5. Same tree: check reused",
      target: "reused",
      measured: check,
      unit: "ms",
      baseline: checkFirst,
      baselineWhat: "first check of the tree",
      ratio: check / checkFirst,
      n: again.length,
      met: checkReused.every(Boolean),
      note: `check step of an empty commit on top of an already-checked tree; reused in ${checkReused.filter(Boolean).length} of ${again.length}; whole build ${fmt(median(again.map((a) => a.finalMs)))}`,
    },
    {
      figure: "5. Docs re-run reused",
      target: "reused",
      measured: stepMs(rerunBuild, "docs"),
      unit: "ms",
      baseline: stepMs(firstBuild, "docs"),
      baselineWhat: "first docs build",
      ratio: stepMs(rerunBuild, "docs") / stepMs(firstBuild, "docs"),
      n: 1,
      met: docsReused,
      note: `"Re-run" (check_run.rerequested) of a merge commit's docs; whole re-run ${fmt(rerun.finalMs)}, first ${fmt(first.finalMs)}`,
    },
  ];
  return {
    rows,
    detail: {
      check: again.map((a) => ({
        first: stepDurations(a.first),
        second: stepDurations(a.second),
        secondSummary: a.second.steps.find((s) => s.name === "check")?.summary,
      })),
      docs: {
        first: { ...rounded(first), steps: stepDurations(firstBuild) },
        rerun: { ...rounded(rerun), steps: stepDurations(rerunBuild) },
      },
    },
  };
}

/** The build record names the build whose result a reused step is (StepResult.reused). */
function reused(second: BuildJson, step: string): boolean {
  const s = second.steps.find((x) => x.name === step);
  return typeof s?.reused === "object" && s.reused !== null;
}
