/** What GitHub and the build page say about a build stopped because its pull request has a newer head. */
export function supersededBy(sha: string): string {
  return `Superseded by ${sha.slice(0, 7)}`;
}

/** What GitHub and the build page say about a build a restart interrupted and that is not run again. */
export const INTERRUPTED = "Interrupted by a restart of pyci; re-run it from the check run";

/** What GitHub and the build page say about a build whose GitHub Actions job was cancelled. */
export const CANCELLED = "Cancelled with its workflow run; re-run the workflow to build it";
