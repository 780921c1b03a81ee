import { acceptBuild } from "../builds/accept-build.js";
import type { BuildDeps } from "../builds/build-deps.js";
import { readRepoConfig } from "../builds/read-repo-config.js";
import type { BuildRequest, GitHubAuth } from "../model/build-request.js";
import { REPO_CONFIG_PATH } from "../pipeline/repo-config.js";
import { Ignored } from "./build-request-from.js";
import { deliveryAccepted, deliveryIgnored } from "./delivery-handled.js";
import type { Delivery } from "./delivery.js";

type DocsEvent = "pull_request.closed" | "push";
type RequestFrom = (payload: unknown, deliveryId: string, auth: GitHubAuth) => BuildRequest | Ignored;

/**
 * A commit that lands on a branch builds and publishes the docs when the branch is the default
 * branch or one that `.github/pyci.yml` lists under docs.branches: `pull_request.closed` with a
 * merge (the merge commit; the server, and the Actions workflow of earlier versions), or `push`
 * (the pushed commit; the docs job of the Actions workflow, docs/github-actions.md).
 */
export function onDocsEvent(deps: BuildDeps, event: DocsEvent, from: RequestFrom) {
  return async (context: Delivery<DocsEvent>): Promise<void> => {
    const request = from(context.payload, context.id, deps.auth);
    const ignore = (reason: string) => {
      context.log.info({ deliveryId: context.id, event, reason }, "delivery ignored");
      deliveryIgnored(deps, context.name, reason);
    };
    if (request instanceof Ignored) return ignore(request.reason);
    const defaultBranch = context.payload.repository.default_branch;
    if (request.branch !== defaultBranch && !(await docsBranches(deps, context, request)).includes(request.branch!)) {
      const how = event === "push" ? "pushed to" : "merged into";
      return ignore(
        `${how} ${request.branch}, not the default branch nor a docs.branches entry of ${REPO_CONFIG_PATH}`,
      );
    }
    deliveryAccepted(deps, context.name, acceptBuild(deps, request));
  };
}

/** Extra branches whose commits publish docs, from the default branch's config; none when it is missing or invalid. */
async function docsBranches(deps: BuildDeps, context: Delivery<DocsEvent>, request: BuildRequest): Promise<string[]> {
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
