import type { Delivery } from "./delivery.js";
import { acceptBuild } from "../builds/accept-build.js";
import type { BuildDeps } from "../builds/build-deps.js";
import { buildLog } from "../builds/build-log.js";
import { PIPELINES } from "../builds/pipelines.js";
import { fetchPullRequest } from "../github/fetch-pull-request.js";
import { hasWriteAccess } from "../github/has-write-access.js";
import { APPROVE_ACTION, approvalPullRequest } from "../github/fork-approval.js";
import type { GitHubWriter } from "../github/types.js";
import { fromPullRequest, Ignored } from "./build-request-from.js";
import { deliveryAccepted, deliveryIgnored } from "./delivery-handled.js";

const SHA = /^[0-9a-f]{40}$/;

/**
 * `check_run.requested_action`: a click on "Approve and run" of an approval
 * check run builds exactly that run's commit, when
 * 1. the run is pyci's approval run and CI_FORK_POLICY is not `skip`;
 * 2. the user who clicked has write access to the repository (asked of
 *    GitHub now; anyone else is logged and nothing happens);
 * 3. the pull request is open and its head is still that commit (a newer
 *    push has an approval run of its own).
 * The build is then accepted as any other.
 */
export function onApprovalRequested(deps: BuildDeps) {
  return async (context: Delivery<"check_run.requested_action">): Promise<void> => {
    const payload = context.payload;
    const run = payload.check_run;
    const ignore = (reason: string, level: "info" | "warn" = "info") => {
      context.log[level](
        { deliveryId: context.id, event: "check_run.requested_action", reason, sender: payload.sender?.login },
        "approval ignored",
      );
      deliveryIgnored(deps, context.name, reason);
    };

    // 1. pyci's approval run, under a policy that builds approved forks
    if (payload.requested_action?.identifier !== APPROVE_ACTION) return ignore("not the approve button");
    const prNumber = approvalPullRequest(run?.external_id);
    if (run?.name !== PIPELINES.pr.checkRunName || prNumber === undefined)
      return ignore("not an approval check run of pyci");
    if (typeof run.head_sha !== "string" || !SHA.test(run.head_sha))
      return ignore("head commit SHA is missing or malformed");
    if (deps.config.forkPolicy === "skip") return ignore("CI_FORK_POLICY=skip: forks are not built, approved or not");
    const sender = payload.sender?.login;
    if (typeof sender !== "string" || sender === "") return ignore("the delivery names no sender");
    const owner = payload.repository?.owner?.login;
    const repo = payload.repository?.name;
    if (typeof owner !== "string" || typeof repo !== "string") return ignore("payload has no repository");

    const log = buildLog(deps.log, { deliveryId: context.id, owner, repo, sha: run.head_sha }, undefined, {
      pr: prNumber,
    });
    try {
      const github: GitHubWriter = { octokit: await deps.octokitFor(payload.installation?.id), log };
      // 2. write access, as GitHub says now
      if (!(await hasWriteAccess(github, owner, repo, sender))) {
        return ignore(`${sender} has no write access to ${owner}/${repo} and cannot approve a fork's commit`, "warn");
      }
      // 3. the pull request still at that commit
      const pr = await fetchPullRequest(github, owner, repo, prNumber);
      if (pr.state !== "open") return ignore(`pull request #${prNumber} is ${pr.state}`);
      if (pr.head.sha !== run.head_sha)
        return ignore(
          `pull request #${prNumber} has moved on to ${pr.head.sha.slice(0, 7)}; approve that commit instead`,
        );

      const request = fromPullRequest(
        {
          action: "requested_action",
          pull_request: pr,
          repository: payload.repository,
          installation: payload.installation,
        },
        context.id,
        deps.auth,
      );
      if (request instanceof Ignored) return ignore(request.reason);
      log.info({ approvedBy: sender }, "fork commit approved");
      // only a fork's commit waits for approval: its build fills no cached environment
      const approved = { ...request, event: "check_run.requested_action", fork: true };
      deliveryAccepted(deps, context.name, acceptBuild(deps, approved));
    } catch (error) {
      log.error({ err: error, sender }, "could not check an approval with GitHub; nothing is built");
      ignore("GitHub could not be asked about the approval");
    }
  };
}
