import { outboxOf, type OutboxWrite } from "./github-outbox.js";
import type { CommitTarget, GitHubWriter } from "./types.js";

/**
 * Sends a status or check-run write. With an outbox attached to the Octokit
 * (the server's, see GitHubOutbox.attach), a write GitHub fails for now is
 * kept and retried later ("kept"), and only a failure no retry changes is
 * thrown; without one (GitHub Actions, tests), every failure is thrown.
 */
export async function writeOrKeep({ octokit, log }: GitHubWriter, write: OutboxWrite): Promise<"sent" | "kept"> {
  const binding = outboxOf(octokit);
  if (binding) return binding.outbox.deliver(octokit, log, binding.installationId, write);
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
