import type { BuildRequest } from "../model/build-request.js";
import { labelSet } from "../model/worker-labels.js";
import type { RepoConfig } from "../pipeline/types.js";

/**
 * The queue builds wait in for a worker with `labels` (`runs_on`): one queue per label set,
 * `pyci-builds` for none (every worker serves it), `pyci-builds+big+py312` for [big, py312]
 * (`+` is in no label, so two label sets never name one queue).
 */
export function buildQueueName(labels: readonly string[] = []): string {
  return ["pyci-builds", ...labelSet(labels)].join("+");
}

/**
 * A BullMQ job's data: what a worker needs to run one build, and nothing secret (Redis is no
 * place for tokens: whoever reads Redis reads this). The job's id is the build's id, so a build is
 * queued once however often the server hands it over (a restart resumes it).
 */
export interface BuildJob {
  buildId: string;
  /** Repository, commit, clone URLs, pull request, pipeline, as the handler made it. */
  request: BuildRequest;
  /** The repository's `.github/pyci.yml` as the server read it from GitHub, or why it could not be read. */
  repoConfig: { config: RepoConfig } | { error: string };
  /** Test durations of the repository's last build with tests (for `test.parallel`), as [test id, ms] pairs. */
  testDurations: [string, number][];
}
