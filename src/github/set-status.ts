import type { StatusState } from "../report/state-map.js";
import { truncate } from "../text/truncate.js";
import type { ReportTarget } from "./types.js";
import { statusKey, writeOrKeep, type ReportWriter } from "./write-or-keep.js";

/** GitHub rejects a status description over 140 characters with a 422. */
export const MAX_STATUS_DESCRIPTION = 140;

export interface StatusUpdate {
  context: string;
  state: StatusState;
  description: string;
  targetUrl: string;
}

/**
 * Sets one commit status; a later status of the same context replaces it on
 * GitHub. When GitHub fails for now and `github` has an outbox, the status is
 * kept and sent later (unless a newer one of its context replaces it).
 * Only the build reporter calls it (test/github/only-reporter-writes.test.ts).
 */
export async function setStatus(github: ReportWriter, target: ReportTarget, status: StatusUpdate): Promise<void> {
  const outcome = await writeOrKeep(github, target, {
    kind: "status",
    key: statusKey(target, status.context),
    requests: [
      {
        route: "POST /repos/{owner}/{repo}/statuses/{sha}",
        params: {
          owner: target.owner,
          repo: target.repo,
          sha: target.sha,
          context: status.context,
          state: status.state,
          description: truncate(status.description, MAX_STATUS_DESCRIPTION),
          target_url: status.targetUrl,
        },
      },
    ],
  });
  github.log.debug(
    { context: status.context, state: status.state, outcome },
    outcome === "sent" ? "commit status set" : "commit status kept for later",
  );
}
