import type { Octokit } from "./types.js";

/**
 * A fresh installation token that can read the contents of one repository and nothing else
 * (POST /app/installations/{id}/access_tokens with `repositories` and `permissions`), for a
 * worker's HTTPS clone: a worker never holds the App's key nor the installation's full token.
 * `octokit` is the installation's (octokitFor); the token lives an hour.
 */
export async function scopedCloneToken(octokit: Octokit, repo: string): Promise<string> {
  const auth = (await octokit.auth({
    type: "installation",
    repositoryNames: [repo],
    permissions: { contents: "read" },
  })) as { token?: string };
  if (!auth.token) throw new Error(`GitHub gave no token to clone ${repo} with`);
  return auth.token;
}
