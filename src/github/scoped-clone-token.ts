import type { Octokit } from "./types.js";

/**
 * A fresh installation token that can read the contents of one repository and nothing else
 * (POST /app/installations/{id}/access_tokens with `repositories` and `permissions`), for a
 * worker's HTTPS clone: a worker never holds the App's key nor the installation's full token.
 * `octokit` is the installation's (octokitFor): its auth signs this route with the App's JWT,
 * and the request goes to its base URL (GHE_HOST) — `octokit.auth({type: "installation"})`
 * would ask api.github.com whatever the base URL. The token lives an hour.
 */
export async function scopedCloneToken(
  octokit: Octokit,
  installationId: number | undefined,
  repo: string,
): Promise<string> {
  if (installationId === undefined) throw new Error(`no installation to mint a token to clone ${repo} with`);
  const { data } = await octokit.request("POST /app/installations/{installation_id}/access_tokens", {
    installation_id: installationId,
    repositories: [repo],
    permissions: { contents: "read" },
  });
  if (!data.token) throw new Error(`GitHub gave no token to clone ${repo} with`);
  return data.token;
}
