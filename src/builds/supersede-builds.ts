import type { BuildRecord } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import type { StopReason } from "./stop-reason.js";

/**
 * A new head of a pull request makes its older heads' builds pointless:
 * each queued or running build of the same pull request and pipeline at
 * another commit is cancelled (a waiting one is taken out of the queue, a
 * running one has its process trees killed); the queue job reports it as
 * superseded (see acceptBuild). Returns the ids of the builds stopped.
 */
export function supersedeBuilds(deps: BuildDeps, newest: BuildRecord): string[] {
  if (newest.prNumber === undefined) return [];
  const older = deps.store
    .activeForPullRequest(newest.owner, newest.repo, newest.prNumber, newest.pipeline)
    .filter((b) => b.sha !== newest.sha);
  const reason: StopReason = { kind: "superseded", by: newest.sha };
  return older.filter((build) => deps.queue.cancel(build.id, reason) !== undefined).map((build) => build.id);
}
