import { isForkPullRequest, type Payload } from "../handlers/fork-policy.js";

/**
 * The fork a job's `pull_request` event comes from ("owner/name", or "a deleted fork"), or
 * undefined when the job's token can write: GitHub gives a `pull_request` workflow run from a
 * fork a read-only GITHUB_TOKEN, so such a job can write no commit status or check run.
 * Other events (push, the base repository's own pull requests) run with the permissions the workflow grants.
 */
export function jobFork(eventName: string, payload: unknown): string | undefined {
  if (eventName !== "pull_request" || typeof payload !== "object" || payload === null) return undefined;
  if (!isForkPullRequest(payload as Payload)) return undefined;
  const name = (payload as { pull_request?: { head?: { repo?: { full_name?: unknown } | null } } }).pull_request?.head
    ?.repo?.full_name;
  return typeof name === "string" && name !== "" ? name : "a deleted fork";
}
