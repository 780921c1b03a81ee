import type { GitHubWriter } from "./types.js";

/** Base roles that may approve a fork's commit: `maintain` reads as `write`, custom roles as their base role. */
const WRITE_ACCESS = new Set(["admin", "write"]);

/**
 * Whether `username` can push to owner/repo (admin, maintain, write or a
 * custom role based on them), as GitHub answers now. Someone who is no
 * collaborator (404) has none; any other failure is thrown.
 */
export async function hasWriteAccess(
  { octokit, log }: GitHubWriter,
  owner: string,
  repo: string,
  username: string,
): Promise<boolean> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
    log.debug({ user: username, permission: data.permission, role: data.role_name }, "collaborator permission read");
    return WRITE_ACCESS.has(data.permission);
  } catch (error) {
    if ((error as { status?: number }).status === 404) return false;
    throw error;
  }
}
