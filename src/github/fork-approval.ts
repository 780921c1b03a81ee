/** The approval check run of a fork's commit (CI_FORK_POLICY=approve): its button, and how it is found again. The build reporter creates it. */

/** The identifier of the button on an approval check run (GitHub: at most 20 characters). */
export const APPROVE_ACTION = "approve";
/** The check run's button (label ≤ 20, description ≤ 40 characters). */
export const APPROVE_BUTTON = {
  label: "Approve and run",
  description: "Build this commit's code on pyci",
  identifier: APPROVE_ACTION,
};

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
