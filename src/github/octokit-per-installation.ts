import type { Octokit } from "./types.js";

/**
 * `make`, called once per installation: later calls for the same installation get the same Octokit.
 * An installation Octokit from Probot's `app.auth(id)` mints and renews its token itself, on its requests,
 * so one serves every build and delivery of that installation; building one (Octokit, its plugins, pyci's
 * hooks) costs ~0.1 ms and a fresh set of hooks, for each status a build sent. A `make` that rejects is
 * forgotten, so the next call tries again.
 */
export function octokitPerInstallation(
  make: (installationId: number | undefined) => Promise<Octokit>,
): (installationId: number | undefined) => Promise<Octokit> {
  const made = new Map<number | undefined, Promise<Octokit>>();
  return (installationId) => {
    let octokit = made.get(installationId);
    if (!octokit) {
      octokit = make(installationId);
      made.set(installationId, octokit);
      octokit.catch(() => {
        if (made.get(installationId) === octokit) made.delete(installationId);
      });
    }
    return octokit;
  };
}
