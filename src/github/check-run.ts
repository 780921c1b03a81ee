import type { Annotation } from "../report/annotations.js";
import type { CheckConclusion } from "../report/state-map.js";
import { MAX_OUTPUT_CHARS } from "../report/summary-markdown.js";
import { truncate } from "../text/truncate.js";
import type { OutboxRequest } from "../store/outbox-store.js";
import type { CommitTarget, ReportTarget } from "./types.js";
import { checkRunKey, writeOrKeep, type ReportWriter } from "./write-or-keep.js";

// Check-run writes; only the build reporter calls them (test/github/only-reporter-writes.test.ts).

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

/** Creates a check run now (never kept for later: GitHub has to answer with its id); errors are thrown. */
export async function createCheckRun(
  { octokit, log }: ReportWriter,
  target: CommitTarget,
  start: CheckRunStart,
): Promise<number> {
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

/** Marks a check run in progress (kept for later when GitHub fails for now: see writeOrKeep). */
export async function startCheckRun(
  github: ReportWriter,
  target: ReportTarget,
  id: number,
  title: string,
  summary: string,
): Promise<void> {
  await writeOrKeep(github, target, {
    kind: "check-run",
    key: checkRunKey(target, id),
    requests: [
      update(target, id, {
        status: "in_progress",
        started_at: new Date().toISOString(),
        output: { title: truncate(title, 255), summary: truncate(summary, MAX_OUTPUT_CHARS) },
      }),
    ],
  });
}

/** Says why a queued check run still waits (kept for later when GitHub fails for now); it stays `queued`. */
export async function describeQueuedCheckRun(
  github: ReportWriter,
  target: ReportTarget,
  id: number,
  title: string,
  summary: string,
): Promise<void> {
  await writeOrKeep(github, target, {
    kind: "check-run",
    key: checkRunKey(target, id),
    requests: [
      update(target, id, {
        status: "queued",
        output: { title: truncate(title, 255), summary: truncate(summary, MAX_OUTPUT_CHARS) },
      }),
    ],
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
 * When GitHub fails for now, the batches not yet sent are kept and sent later,
 * in order (see writeOrKeep); a later update of the same run replaces them.
 */
export async function completeCheckRun(
  github: ReportWriter,
  target: ReportTarget,
  id: number,
  result: CheckRunResult,
): Promise<void> {
  const output = {
    title: truncate(result.title, 255),
    summary: truncate(result.summary, MAX_OUTPUT_CHARS),
    ...(result.text ? { text: truncate(result.text, MAX_OUTPUT_CHARS) } : {}),
  };
  const batches = chunk(result.annotations, ANNOTATIONS_PER_REQUEST);
  const leading = batches.slice(0, -1);
  const last = batches.at(-1) ?? [];
  const outcome = await writeOrKeep(github, target, {
    kind: "check-run",
    key: checkRunKey(target, id),
    requests: [
      ...leading.map((annotations) => update(target, id, { output: { ...output, annotations } })),
      update(target, id, {
        status: "completed",
        conclusion: result.conclusion,
        completed_at: new Date().toISOString(),
        output: { ...output, ...(last.length > 0 ? { annotations: last } : {}) },
      }),
    ],
  });
  github.log.debug(
    { checkRunId: id, conclusion: result.conclusion, annotations: result.annotations.length, outcome },
    outcome === "sent" ? "check run completed" : "check run completion kept for later",
  );
}

function update(target: CommitTarget, id: number, fields: Record<string, unknown>): OutboxRequest {
  return {
    route: "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    params: { owner: target.owner, repo: target.repo, check_run_id: id, ...fields },
  };
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
