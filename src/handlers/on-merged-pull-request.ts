import type { Delivery } from "./delivery.js";
import { acceptBuild } from "../builds/accept-build.js";
import type { BuildDeps } from "../builds/build-deps.js";
import { readRepoConfig } from "../builds/read-repo-config.js";
import type { BuildRequest } from "../model/build-request.js";
import { REPO_CONFIG_PATH } from "../pipeline/repo-config.js";
import { fromMergedPullRequest, Ignored } from "./build-request-from.js";
import { deliveryAccepted, deliveryIgnored } from "./delivery-handled.js";

/**
 * `pull_request.closed`: a merge into the default branch (or a branch that
 * `.github/pyci.yml` lists under docs.branches) builds and publishes the docs.
 */
export function onMergedPullRequest(deps: BuildDeps) {
  return async (context: Delivery<"pull_request.closed">): Promise<void> => {
    const request = fromMergedPullRequest(context.payload, context.id, deps.auth);
    const ignore = (reason: string) => {
      context.log.info({ deliveryId: context.id, event: "pull_request.closed", reason }, "delivery ignored");
      deliveryIgnored(deps, context.name, reason);
    };
    if (request instanceof Ignored) return ignore(request.reason);
    const defaultBranch = context.payload.repository.default_branch;
    if (request.branch !== defaultBranch && !(await docsBranches(deps, context, request)).includes(request.branch!)) {
      return ignore(
        `merged into ${request.branch}, not the default branch nor a docs.branches entry of ${REPO_CONFIG_PATH}`,
      );
    }
    deliveryAccepted(deps, context.name, acceptBuild(deps, request));
  };
}

/** Extra branches whose merges publish docs, from the default branch's config; none when it is missing or invalid. */
async function docsBranches(
  deps: BuildDeps,
  context: Delivery<"pull_request.closed">,
  request: BuildRequest,
): Promise<string[]> {
  try {
    const octokit = await deps.octokitFor(request.installationId);
    return (await readRepoConfig(octokit, request.owner, request.repo)).docs.branches ?? [];
  } catch (error) {
    context.log.warn(
      { deliveryId: context.id, err: error },
      "could not read docs.branches; only the default branch publishes",
    );
    return [];
  }
}
