import type { Delivery } from "./delivery.js";
import type { BuildDeps } from "../builds/build-deps.js";
import { buildLog } from "../builds/build-log.js";
import { reporterFor } from "../builds/reporter-for.js";
import type { BuildRequest } from "../model/build-request.js";
import { PIPELINES } from "../builds/pipelines.js";
import { hasWriteAccess } from "../github/has-write-access.js";
import { approvalPullRequest } from "../github/fork-approval.js";
import type { GitHubWriter } from "../github/types.js";
import { forkPolicy, fromFork } from "./fork-policy.js";
import { deliveryIgnored } from "./delivery-handled.js";

type GatedEvent = "pull_request" | "check_run" | "check_suite";

/**
 * Applies CI_FORK_POLICY to a delivery's build request: returns the request
 * when its commit may be built now, or undefined when a fork's code must not
 * run (the delivery is then counted as ignored):
 * 1. decide (forkPolicy, pure): build, skip, or approve;
 * 2. skip: the build reporter says so (a `skipped` check run);
 * 3. approve: the approver's write access (a re-run request's sender, or the
 *    owner of the fork opening or pushing to it) builds at once; otherwise a
 *    pull request event is handed to the build reporter to ask a maintainer
 *    (an `action_required` check run with an "Approve and run" button,
 *    statuses `pending`), and a re-run request builds nothing.
 * GitHub errors are logged; they never let a fork's commit through. A fork's
 * commit that builds is marked `fork` (its build fills no cached environment).
 */
export async function forkGate<E extends GatedEvent>(
  deps: BuildDeps,
  context: Delivery<E>,
  unmarked: BuildRequest,
): Promise<BuildRequest | undefined> {
  const request = fromFork(context.name, context.payload) ? { ...unmarked, fork: true } : unmarked;
  // 1. the decision
  const decision = forkPolicy(deps.config.forkPolicy, context.name, context.payload);
  if (decision.action === "build") return request;
  const log = buildLog(deps.log, request, undefined, { event: request.event });
  const held = (reason: string) => {
    log.info({ reason }, "fork commit not built");
    deliveryIgnored(deps, context.name, reason);
    return undefined;
  };
  const spec = PIPELINES[request.pipeline];
  let github: GitHubWriter;
  try {
    github = { octokit: await deps.octokitFor(request.installationId), log };
  } catch (error) {
    log.error({ err: error }, "could not authenticate as the installation to apply CI_FORK_POLICY");
    return held("a fork's commit, and GitHub could not be reached to apply CI_FORK_POLICY");
  }

  const reporter = reporterFor(deps, github.octokit, log);
  /** Not built, said on GitHub: a skipped check run, or (statuses only) every status `error` saying `why`. */
  const notBuilt = async (why: string) => {
    const fallback = { contexts: Object.keys(spec.contexts), why, url: request.prUrl ?? deps.config.publicUrl };
    await reporter
      .forkSkipped(request, spec.checkRunName, fallback)
      .catch((error: unknown) => log.error({ err: error }, "could not report a fork's commit not built to GitHub"));
  };

  // 2. skip
  if (decision.action === "skip") {
    await notBuilt("Not built: pull requests from forks are not built here (CI_FORK_POLICY=skip)");
    return held("a fork's commit (CI_FORK_POLICY=skip)");
  }

  // 3. approve: by the approver's write access, or by a maintainer later
  if (decision.approver !== undefined) {
    let approved = false;
    try {
      approved = await hasWriteAccess(github, request.owner, request.repo, decision.approver);
    } catch (error) {
      log.error(
        { err: error, user: decision.approver },
        "could not read the sender's permission; treated as no write access",
      );
    }
    if (approved) {
      log.info({ approvedBy: decision.approver }, "fork commit approved by the sender's write access");
      return withApprovedPullRequest(request, context.payload);
    }
  }
  if (context.name !== "pull_request") {
    return held(
      `a re-run of a fork's commit, requested by ${decision.approver ?? "an unknown user"} without write access (CI_FORK_POLICY=approve)`,
    );
  }
  if (request.prNumber === undefined)
    return held("a fork's commit without a pull request number (CI_FORK_POLICY=approve)");
  // a repository webhook (no App) has no check run, no button to approve with: the commit is not built
  if (deps.checkRuns === false) {
    const why = "Not built: approving a fork's commit takes the GitHub App's button (CI_FORK_POLICY=approve)";
    await notBuilt(why);
    return held(`a fork's commit from someone without write access; ${why}`);
  }
  try {
    await reporter.awaitingApproval(request, {
      checkRunName: spec.checkRunName,
      contexts: Object.keys(spec.contexts),
      prNumber: request.prNumber,
      prUrl: request.prUrl ?? `${deps.config.publicUrl}`,
      ...forkName(context.payload),
    });
  } catch (error) {
    log.error({ err: error }, "could not ask for approval on GitHub; the fork's commit is not built");
  }
  return held("a fork's commit waits for a maintainer's approval (CI_FORK_POLICY=approve)");
}

/** A re-run of an approval check run knows its pull request from the run's external_id (GitHub lists none for a fork's commit). */
function withApprovedPullRequest(request: BuildRequest, payload: unknown): BuildRequest {
  if (request.prNumber !== undefined) return request;
  const prNumber = approvalPullRequest((payload as { check_run?: { external_id?: unknown } }).check_run?.external_id);
  return prNumber === undefined ? request : { ...request, prNumber };
}

function forkName(payload: unknown): { fork?: string } {
  const name = (payload as { pull_request?: { head?: { repo?: { full_name?: unknown } | null } } }).pull_request?.head
    ?.repo?.full_name;
  return typeof name === "string" ? { fork: name } : {};
}
