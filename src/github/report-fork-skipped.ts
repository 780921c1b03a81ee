import type { CommitTarget, GitHubWriter } from "./types.js";

export const FORK_SKIPPED_TITLE = "Pull requests from forks are not built here";

/**
 * Tells a fork's pull request that it gets no build (CI_FORK_POLICY=skip), so
 * that nothing looks stuck: one completed check run, conclusion `skipped`.
 * No status is set. Errors are thrown.
 */
export async function reportForkSkipped(github: GitHubWriter, target: CommitTarget, checkRunName: string): Promise<number> {
  const { data } = await github.octokit.rest.checks.create({
    owner: target.owner,
    repo: target.repo,
    name: checkRunName,
    head_sha: target.sha,
    external_id: "fork-skipped",
    status: "completed",
    conclusion: "skipped",
    completed_at: new Date().toISOString(),
    output: {
      title: FORK_SKIPPED_TITLE,
      summary: `${FORK_SKIPPED_TITLE} (CI_FORK_POLICY=skip): this server does not run code from forks, so ${target.sha.slice(0, 7)} was neither checked nor tested.`,
    },
  });
  github.log.info({ checkRunId: data.id }, "fork commit not built (CI_FORK_POLICY=skip)");
  return data.id;
}
