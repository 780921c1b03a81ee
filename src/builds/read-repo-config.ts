import type { Octokit } from "../github/types.js";
import { defaultRepoConfig, parseRepoConfig, REPO_CONFIG_PATH, RepoConfigError } from "../pipeline/repo-config.js";
import type { RepoConfig } from "../pipeline/types.js";

/**
 * What `context.config("pyci.yml")` does, for a build that runs after its
 * delivery: the file on the default branch (a pull request cannot change its
 * own CI), or the defaults when there is none.
 */
export async function readRepoConfig(octokit: Octokit, owner: string, repo: string): Promise<RepoConfig> {
  let raw: unknown;
  try {
    ({ config: raw } = await octokit.config.get({ owner, repo, path: REPO_CONFIG_PATH }));
  } catch (error) {
    const message = (error as Error).message;
    if (/could not be parsed/.test(message))
      throw new RepoConfigError(`Invalid ${REPO_CONFIG_PATH}: not a YAML mapping`);
    throw new RepoConfigError(`Could not read ${REPO_CONFIG_PATH}: ${message}`);
  }
  if (!raw || Object.keys(raw).length === 0) return defaultRepoConfig();
  try {
    return parseRepoConfig(raw);
  } catch (error) {
    if (error instanceof RepoConfigError) throw new RepoConfigError(`Invalid ${REPO_CONFIG_PATH}: ${error.message}`);
    throw error;
  }
}
