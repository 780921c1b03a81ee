import { latestStatus } from "../test/support/fake-github.js";
import type { TestRepo } from "../test/support/git-repo.js";
import { buildsTaken } from "../test/support/worker-process.js";
import { postDelivery, pullRequestDelivery } from "./deliver.js";
import type { Harness } from "./harness.js";

export interface ThroughputRun {
  builds: number;
  /** First delivery sent → last build's final statuses and completed check run, in ms. */
  elapsedMs: number;
  /** Builds per second over elapsedMs. */
  perSecond: number;
  /** Builds each worker took, by the "build taken" lines of its log during the run. */
  taken: number[];
  /** Final ci/test states seen, by state. */
  testStates: Record<string, number>;
}

/**
 * `builds` pull requests opened at once on a server that hands builds to workers, each a new empty
 * commit of `repo` (the same tree: after its first build a worker reuses pyright's result, so that
 * the waiting tests, not the cores, bound the throughput) with a pull request number and an
 * installation of its own (pyci paces its writes per installation, about one a second, as GitHub
 * asks: one installation would make GitHub's pacing the bound). Times until every build reported.
 */
export async function measureThroughput(
  h: Harness,
  o: {
    hookUrl: string;
    repo: TestRepo;
    repoName: string;
    builds: number;
    /** Pull request and installation numbers start here. */
    firstNumber: number;
    workerLogs: () => string[];
    timeoutMs: number;
  },
): Promise<ThroughputRun> {
  const takenBefore = o.workerLogs().map((log) => buildsTaken(log));
  const shas: string[] = [];
  const deliveries = [];
  for (let i = 0; i < o.builds; i++) {
    const number = o.firstNumber + i;
    const sha = o.repo.commit({}, `throughput ${number}`);
    shas.push(sha);
    deliveries.push(
      await pullRequestDelivery(h, {
        repo: o.repoName,
        dir: o.repo.dir,
        number,
        sha,
        action: "opened",
        installationId: number,
      }),
    );
  }
  const finished = (sha: string) =>
    ["ci/check", "ci/test"].every((c) => {
      const state = latestStatus(h.fake.statuses, sha, c)?.body.state;
      return state !== undefined && state !== "pending";
    }) && h.fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed");

  const started = performance.now();
  for (const delivery of deliveries) {
    const ack = await postDelivery(o.hookUrl, h.secret, delivery);
    if (ack.status < 200 || ack.status >= 300) throw new Error(`a delivery was answered ${ack.status}`);
  }
  await h.fake.waitFor(() => shas.every(finished), o.timeoutMs);
  const elapsedMs = performance.now() - started;

  const testStates: Record<string, number> = {};
  for (const sha of shas) {
    const state = String(latestStatus(h.fake.statuses, sha, "ci/test")!.body.state);
    testStates[state] = (testStates[state] ?? 0) + 1;
  }
  return {
    builds: o.builds,
    elapsedMs,
    perSecond: o.builds / (elapsedMs / 1000),
    taken: o.workerLogs().map((log, i) => buildsTaken(log) - (takenBefore[i] ?? 0)),
    testStates,
  };
}
