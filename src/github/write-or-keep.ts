import type { Logger } from "probot";
import type { GitHubOutbox, OutboxWrite } from "./github-outbox.js";
import type { CommitTarget, Octokit, ReportTarget } from "./types.js";

/** How a status or check-run update is sent: the installation's Octokit, and the outbox that keeps what GitHub fails for now (if any). */
export interface ReportWriter {
  octokit: Octokit;
  /** The server's outbox; undefined (GitHub Actions, tests): every failure is thrown. */
  outbox: GitHubOutbox | undefined;
  log: Logger;
}

/**
 * Sends a status or check-run write. With an outbox, a write GitHub fails for
 * now is kept and retried later ("kept"; retried as `target`'s installation),
 * and only a failure no retry changes is thrown; without one, every failure is thrown.
 */
export async function writeOrKeep(
  { octokit, outbox, log }: ReportWriter,
  target: ReportTarget,
  write: OutboxWrite,
): Promise<"sent" | "kept"> {
  if (outbox) return outbox.deliver(octokit, log, target.installationId, write);
  for (const { route, params } of write.requests) await octokit.request(route, params);
  return "sent";
}

/** A commit status is one context of one commit (GitHub compares contexts and names case-insensitively). */
export function statusKey(target: CommitTarget, context: string): string {
  return `status:${target.owner}/${target.repo}@${target.sha}#${context}`.toLowerCase();
}

export function checkRunKey(target: CommitTarget, checkRunId: number): string {
  return `check-run:${target.owner}/${target.repo}#${checkRunId}`.toLowerCase();
}
