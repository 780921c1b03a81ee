import type { StatusState } from "../report/state-map.js";
import { truncate } from "../report/truncate.js";
import type { CommitTarget, GitHubWriter } from "./types.js";

/** GitHub rejects a status description over 140 characters with a 422. */
export const MAX_STATUS_DESCRIPTION = 140;

export interface StatusUpdate {
  context: string;
  state: StatusState;
  description: string;
  targetUrl: string;
}

/** Sets one commit status; a later status of the same context replaces it on GitHub. */
export async function setStatus({ octokit, log }: GitHubWriter, target: CommitTarget, status: StatusUpdate): Promise<void> {
  await octokit.rest.repos.createCommitStatus({
    owner: target.owner,
    repo: target.repo,
    sha: target.sha,
    context: status.context,
    state: status.state,
    description: truncate(status.description, MAX_STATUS_DESCRIPTION),
    target_url: status.targetUrl,
  });
  log.debug({ context: status.context, state: status.state }, "commit status set");
}
