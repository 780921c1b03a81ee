import type { CommitTarget, GitHubWriter } from "./types.js";

/**
 * The id of the unfinished check run named `name` on the commit that pyci
 * made for the build `externalId`, if there is one: for a build whose
 * run was created on GitHub but whose id never reached the store.
 */
export async function findOpenCheckRun(
  { octokit }: GitHubWriter,
  target: CommitTarget,
  name: string,
  externalId: string,
): Promise<number | undefined> {
  const runs = await octokit.paginate(octokit.rest.checks.listForRef, {
    owner: target.owner,
    repo: target.repo,
    ref: target.sha,
    check_name: name,
    filter: "all",
    per_page: 100,
  });
  return runs.find((run) => run.external_id === externalId && run.status !== "completed")?.id;
}
