import type { PyciMetrics } from "../metrics/create-metrics.js";
import type { Octokit } from "./types.js";

/**
 * Tells `metrics` of every request of `octokit` that fails for good (after
 * Probot's retries), then lets the error through unchanged. Returns the
 * same Octokit.
 */
export function countApiErrors(octokit: Octokit, metrics: Pick<PyciMetrics, "githubApiError">): Octokit {
  octokit.hook.error("request", (error) => {
    const { status, response } = error as { status?: number; response?: unknown };
    // @octokit/request reports a request that got no response at all as a 500 without a response
    metrics.githubApiError(response === undefined ? undefined : status);
    throw error;
  });
  return octokit;
}
