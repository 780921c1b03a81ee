import { markdownText } from "../report/markdown-text.js";
import { setStatus } from "./set-status.js";
import type { CommitTarget, GitHubWriter } from "./types.js";

/** The identifier of the button on an approval check run (GitHub: at most 20 characters). */
export const APPROVE_ACTION = "approve";
/** The check run's button (label ≤ 20, description ≤ 40 characters). */
export const APPROVE_BUTTON = { label: "Approve and run", description: "Build this commit's code on pyci", identifier: APPROVE_ACTION };

const APPROVAL_ID = /^fork-approval:(\d{1,9})$/;

/** The external_id of an approval check run: the pull request it asks for, to find it again when the button is clicked. */
export function approvalExternalId(prNumber: number): string {
  return `fork-approval:${prNumber}`;
}

/** The pull request an approval check run was made for, or undefined for any other check run. */
export function approvalPullRequest(externalId: unknown): number | undefined {
  const match = typeof externalId === "string" ? APPROVAL_ID.exec(externalId) : null;
  return match ? Number(match[1]) : undefined;
}

export interface ApprovalRequest {
  /** The pipeline's check run name: the approval run stands in its place until the build replaces it. */
  checkRunName: string;
  /** The pipeline's status contexts, set `pending` until the build reports. */
  contexts: string[];
  prNumber: number;
  /** The pull request's page: where the statuses link when GitHub gives no check run page. */
  prUrl: string;
  /** owner/name of the fork, for the summary; absent for a deleted fork. */
  fork?: string;
}

export function waitingForApproval(sha: string): string {
  return `Waiting for a maintainer to approve ${sha.slice(0, 7)}`;
}

/**
 * Asks a maintainer to approve a fork's commit before its code runs:
 * 1. a completed check run, conclusion `action_required`, whose "Approve and
 *    run" button sends `check_run.requested_action`;
 * 2. every status context `pending` "Waiting for a maintainer to approve
 *    <short sha>", linking to that check run: a required status keeps the
 *    pull request from merging unbuilt.
 * Returns the check run's id. Errors are thrown.
 */
export async function requestApproval(github: GitHubWriter, target: CommitTarget, ask: ApprovalRequest): Promise<number> {
  const short = target.sha.slice(0, 7);
  const from = ask.fork ? `the fork ${markdownText(ask.fork)}` : "a fork that no longer exists";
  // 1. the check run with the button
  const { data } = await github.octokit.rest.checks.create({
    owner: target.owner,
    repo: target.repo,
    name: ask.checkRunName,
    head_sha: target.sha,
    external_id: approvalExternalId(ask.prNumber),
    status: "completed",
    conclusion: "action_required",
    completed_at: new Date().toISOString(),
    output: {
      title: waitingForApproval(target.sha),
      summary: [
        `This pull request comes from ${from}. pyci does not run a fork's code until a maintainer has read it: its tests would run on the CI server, with the server's network and disk.`,
        "",
        `Someone with write access to ${target.owner}/${target.repo} approves **this commit, ${short}**, with **${APPROVE_BUTTON.label}** above. Every new push needs a new approval.`,
        "",
        "(CI_FORK_POLICY=approve)",
      ].join("\n"),
    },
    actions: [APPROVE_BUTTON],
  });
  github.log.info({ checkRunId: data.id, pr: ask.prNumber }, "fork commit waits for approval");
  // 2. pending statuses that lead to it
  const targetUrl = data.html_url ?? `${ask.prUrl}/checks`;
  for (const context of ask.contexts) {
    await setStatus(github, target, { context, state: "pending", description: waitingForApproval(target.sha), targetUrl });
  }
  return data.id;
}
