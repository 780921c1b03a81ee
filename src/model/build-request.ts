/** The pipelines a build can run: a pull request's checks and tests, or a merge's docs (builds/pipelines.ts). */
export type PipelineName = "pr" | "docs";

/** Everything needed to run and report one build: plain data, taken from a webhook payload. */
export interface BuildRequest {
  /** Which pipeline to run: "pr" (check + test). */
  pipeline: PipelineName;
  owner: string;
  repo: string;
  /** The exact commit to build and report on. */
  sha: string;
  /** e.g. "pull_request.opened", "check_run.rerequested". */
  event: string;
  deliveryId: string;
  /** The App installation to act as; absent with token auth (GitHub Actions), whose payloads name none. */
  installationId?: number;
  /** repository.ssh_url, as GitHub gives it. */
  sshUrl: string;
  /** repository.clone_url (https). */
  cloneUrl: string;
  prNumber?: number;
  prTitle?: string;
  prUrl?: string;
  /** PR head branch (pr pipeline) or the branch merged into (docs pipeline). */
  branch?: string;
  /** The commit is a fork's (handlers/fork-gate.ts): its build may use cached environments, never add one. */
  fork?: boolean;
}

/**
 * How pyci reaches GitHub: as the App installation each delivery names (the server), or with
 * one token for everything (GitHub Actions' GITHUB_TOKEN), whose event payloads name no installation.
 */
export type GitHubAuth = "installation" | "token";
