import { appendFileSync } from "node:fs";
import { markdownText } from "../report/markdown-text.js";
import type { Verdict } from "./actions-outcome.js";

/** Why a fork's job reports nothing on the commit, for the job's log and its summary. */
export function forkNote(fork: string): string {
  return `Nothing was reported on the commit: this pull request comes from ${fork === "a deleted fork" ? fork : `the fork ${fork}`}, and GitHub gives a fork's pull_request run a read-only token, which can write neither commit statuses nor check runs. pyci built it anyway; this job's own check is the result (it fails when a step fails).`;
}

/**
 * The job summary (GITHUB_STEP_SUMMARY, shown on the workflow run's page): one line per build
 * (or why there was none), the link to the full logs, and, for a fork's pull request, why
 * nothing was reported on the commit. `lines` are masked already; they are escaped here, as
 * they hold what the repository's tools wrote.
 */
export function jobSummary(verdict: Verdict, runUrl: string, fork: string | undefined): string {
  const icon = verdict.exitCode === 0 ? "✅" : "❌";
  return [
    "### pyci",
    "",
    ...(fork ? [`> ${markdownText(forkNote(fork))}`, ""] : []),
    ...verdict.lines.map((line) => `- ${icon} ${markdownText(line)}`),
    "",
    `Every step's log: [this workflow run](${runUrl}) (one group per step).`,
    "",
  ].join("\n");
}

/** Appends to the job summary file, when the runner gives one; a failure is returned, never thrown. */
export function appendJobSummary(path: string | undefined, markdown: string): Error | undefined {
  if (!path) return undefined;
  try {
    appendFileSync(path, markdown);
    return undefined;
  } catch (error) {
    return error as Error;
  }
}
