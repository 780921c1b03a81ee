import type { Annotation } from "../report/annotations.js";
import type { CheckConclusion } from "../report/state-map.js";
import { MAX_OUTPUT_CHARS } from "../report/summary-markdown.js";
import { truncate } from "../report/truncate.js";
import type { CommitTarget, GitHubWriter } from "./types.js";

/** GitHub takes at most 50 annotations per request; later requests append. */
export const ANNOTATIONS_PER_REQUEST = 50;
export interface CheckRunStart {
  name: string;
  externalId: string;
  detailsUrl: string;
  status: "queued" | "in_progress";
  title: string;
  summary: string;
}

export async function createCheckRun({ octokit, log }: GitHubWriter, target: CommitTarget, start: CheckRunStart): Promise<number> {
  const { data } = await octokit.rest.checks.create({
    owner: target.owner,
    repo: target.repo,
    name: start.name,
    head_sha: target.sha,
    status: start.status,
    external_id: start.externalId,
    details_url: start.detailsUrl,
    ...(start.status === "in_progress" ? { started_at: new Date().toISOString() } : {}),
    output: { title: truncate(start.title, 255), summary: truncate(start.summary, MAX_OUTPUT_CHARS) },
  });
  log.debug({ checkRunId: data.id }, "check run created");
  return data.id;
}

export async function startCheckRun({ octokit }: GitHubWriter, target: CommitTarget, id: number, title: string, summary: string): Promise<void> {
  await octokit.rest.checks.update({
    owner: target.owner,
    repo: target.repo,
    check_run_id: id,
    status: "in_progress",
    started_at: new Date().toISOString(),
    output: { title: truncate(title, 255), summary: truncate(summary, MAX_OUTPUT_CHARS) },
  });
}

export interface CheckRunResult {
  conclusion: CheckConclusion;
  title: string;
  summary: string;
  text?: string;
  annotations: Annotation[];
}

/**
 * Completes a check run. Annotations go out in batches of 50: every batch
 * but the last while the run is still in progress, the last one together
 * with the conclusion, so the run never shows as finished with half of them.
 */
export async function completeCheckRun({ octokit, log }: GitHubWriter, target: CommitTarget, id: number, result: CheckRunResult): Promise<void> {
  const output = {
    title: truncate(result.title, 255),
    summary: truncate(result.summary, MAX_OUTPUT_CHARS),
    ...(result.text ? { text: truncate(result.text, MAX_OUTPUT_CHARS) } : {}),
  };
  const batches = chunk(result.annotations, ANNOTATIONS_PER_REQUEST);
  const leading = batches.slice(0, -1);
  const last = batches.at(-1) ?? [];
  for (const annotations of leading) {
    await octokit.rest.checks.update({ owner: target.owner, repo: target.repo, check_run_id: id, output: { ...output, annotations } });
  }
  await octokit.rest.checks.update({
    owner: target.owner,
    repo: target.repo,
    check_run_id: id,
    status: "completed",
    conclusion: result.conclusion,
    completed_at: new Date().toISOString(),
    output: { ...output, ...(last.length > 0 ? { annotations: last } : {}) },
  });
  log.debug({ checkRunId: id, conclusion: result.conclusion, annotations: result.annotations.length }, "check run completed");
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
