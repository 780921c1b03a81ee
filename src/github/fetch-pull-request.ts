import type { GitHubWriter } from "./types.js";

/** A pull request as GitHub has it now (its head may have moved since a webhook was sent). */
export async function fetchPullRequest({ octokit }: GitHubWriter, owner: string, repo: string, pullNumber: number) {
  const { data } = await octokit.rest.pulls.get({ owner, repo, pull_number: pullNumber });
  return data;
}
