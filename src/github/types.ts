import type { ProbotOctokit } from "probot";
import type { Logger } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;

/** The commit a build reports on. */
export interface CommitTarget {
  owner: string;
  repo: string;
  sha: string;
}

/** A commit to report on, and the App installation that acts for it (absent with one token for everything: GitHub Actions). */
export interface ReportTarget extends CommitTarget {
  installationId?: number;
}

export interface GitHubWriter {
  octokit: Octokit;
  log: Logger;
}
