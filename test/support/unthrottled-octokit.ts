import { ProbotOctokit } from "probot";

/**
 * ProbotOctokit without @octokit/plugin-throttling, for `new Probot({ Octokit: UnthrottledOctokit })`.
 * Probot throttles by default: mutating requests (POST/PATCH/PUT/DELETE) wait >= 1 s after the previous one,
 * process-wide. Only the function form of defaults() reaches the installation clients; the object form
 * `ProbotOctokit.defaults({ throttle: { enabled: false } })` leaves them throttled.
 */
export const UnthrottledOctokit = ProbotOctokit.defaults((options: Record<string, unknown> = {}) => ({
  ...options,
  throttle: { ...(options.throttle as object | undefined), enabled: false },
}));
