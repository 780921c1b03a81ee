import type { ProbotOctokit } from "probot";
import type { Logger } from "probot";

export type Octokit = InstanceType<typeof ProbotOctokit>;

/** The commit a build reports on. */
export interface CommitTarget {
  owner: string;
  repo: string;
  sha: string;
}

export interface GitHubWriter {
  octokit: Octokit;
  log: Logger;
}
