import type { Logger } from "probot";
import type { StepResult } from "../pipeline/types.js";
import { annotationsFor } from "../report/annotations.js";
import { logTailText } from "../report/log-tail-text.js";
import { markdownText } from "../report/markdown-text.js";
import { reportedStep } from "../report/reported-step.js";
import { buildTitle, checkConclusion, statusState } from "../report/state-map.js";
import { CANCELLED, INTERRUPTED, supersededBy } from "../report/stop-text.js";
import { summaryMarkdown } from "../report/summary-markdown.js";
import { completeCheckRun, createCheckRun, describeQueuedCheckRun, startCheckRun } from "./check-run.js";
import { findOpenCheckRun } from "./find-check-run.js";
import { APPROVE_BUTTON, approvalExternalId, waitingForApproval, type ApprovalRequest } from "./fork-approval.js";
import type { GitHubOutbox } from "./github-outbox.js";
import { setStatus } from "./set-status.js";
import type { Octokit, ReportTarget } from "./types.js";
import type { ReportWriter } from "./write-or-keep.js";

export const FORK_SKIPPED_TITLE = "Pull requests from forks are not built here";

export interface BuildReporterOptions {
  /** The installation's Octokit (the one token's, in GitHub Actions). */
  octokit: Octokit;
  /**
   * The server's outbox: a status or check-run update GitHub fails for now is
   * kept in SQLite and sent later (docs/operations.md: When GitHub is down). Undefined
   * where there is none (GitHub Actions): every failure is thrown.
   */
  outbox: GitHubOutbox | undefined;
  /** The build's (or delivery's) logger: see buildLog. */
  log: Logger;
  /**
   * False where the token cannot write check runs (a repository webhook's personal access token:
   * only GitHub Apps can): every report is its commit statuses alone. Default true.
   */
  checkRuns?: boolean;
}

/** A build as GitHub shows it: its commit, its pipeline's commit statuses and check run, and its page. */
export interface ReportedBuild extends ReportTarget {
  /** The build id: its check run's external_id. */
  id: string;
  /** The build's page, where its statuses and check run link. */
  url: string;
  /** Commit status context → the steps it reports. */
  contexts: Record<string, string[]>;
  checkRunName: string;
  /** Its check run, once created (or found again). */
  checkRunId?: number;
}

/**
 * The only writer of a build's reports on GitHub, one method per moment of
 * the build: its commit statuses (one per context of its pipeline) and its
 * check run. Statuses and check-run updates go through the outbox when it
 * has one; creating a check run never does (GitHub has to answer with its id).
 * What the reports say is made by the pure formatters of report/.
 * Errors are thrown: the caller decides whether a build goes on without them.
 */
export class BuildReporter {
  private readonly writer: ReportWriter;
  private readonly checkRuns: boolean;

  constructor({ octokit, outbox, log, checkRuns = true }: BuildReporterOptions) {
    this.writer = { octokit, outbox, log };
    this.checkRuns = checkRuns;
  }

  /**
   * Queued: every status `pending` `description`, and a queued check run
   * (created, unless the build has one; looked up by the build id first when
   * `findLost`: a restart may have lost its id). Returns the check run's id (none without check runs).
   */
  async queued(build: ReportedBuild, description: string, options: { findLost: boolean }): Promise<number | undefined> {
    await this.statuses(build, "pending", description, build.url);
    if (!this.checkRuns) return undefined;
    return (
      build.checkRunId ??
      (options.findLost ? await findOpenCheckRun(this.writer, build, build.checkRunName, build.id) : undefined) ??
      (await createCheckRun(this.writer, build, {
        name: build.checkRunName,
        externalId: build.id,
        detailsUrl: build.url,
        status: "queued",
        title: description,
        summary: `Build queued for ${build.sha.slice(0, 7)}.`,
      }))
    );
  }

  /**
   * Still queued, waiting for something outside the build (a worker with its labels): every status
   * `pending` with `description`, and the queued check run saying it too.
   */
  async waiting(build: ReportedBuild, description: string): Promise<void> {
    await this.statuses(build, "pending", description, build.url);
    if (!this.checkRuns || !build.checkRunId) return;
    await describeQueuedCheckRun(
      this.writer,
      build,
      build.checkRunId,
      description,
      `Build of ${build.sha.slice(0, 7)} queued. ${description}: it starts as soon as one connects.`,
    );
  }

  /** Running (the code is checked out): the check run in progress (if it has one); the statuses stay `pending`. */
  async running(build: ReportedBuild): Promise<void> {
    if (!build.checkRunId) return;
    await startCheckRun(this.writer, build, build.checkRunId, "Running", `Building ${build.sha.slice(0, 7)}…`);
  }

  /**
   * Finished: one final status per context (a step that did not run takes the
   * state and words of the step that stopped it), and the check run completed
   * with the report, the log tails (`readLog`: a step's stored log) and annotations.
   */
  async finished(
    build: ReportedBuild,
    steps: StepResult[],
    readLog: (step: string) => Promise<string | undefined>,
  ): Promise<void> {
    for (const [context, names] of Object.entries(build.contexts)) {
      const result = reportedStep(steps, names);
      await setStatus(this.writer, build, {
        context,
        state: statusState(result.state),
        description: result.summary,
        targetUrl: build.url,
      });
    }
    if (!build.checkRunId) return;
    const logs = await Promise.all(steps.map(async (s) => ({ step: s.name, text: (await readLog(s.name)) ?? "" })));
    await completeCheckRun(this.writer, build, build.checkRunId, {
      conclusion: checkConclusion(steps),
      title: buildTitle(steps.filter((s) => s.name !== "checkout" || s.state !== "success")),
      summary: summaryMarkdown(steps, build.url),
      text: logTailText(logs.filter((l) => l.text !== "")),
      annotations: annotationsFor(steps),
    });
  }

  /** Superseded by a newer head of its pull request: every status `error` and the check run `cancelled`, each saying so. */
  async superseded(build: ReportedBuild, bySha: string): Promise<void> {
    await this.stoppedForGood(
      build,
      supersededBy(bySha),
      `This build of ${build.sha.slice(0, 7)} was stopped: the pull request's head is now ${bySha.slice(0, 7)}, which is built instead.`,
    );
  }

  /** Its GitHub Actions job was cancelled (by hand, or by a newer run of its concurrency group): as superseded, saying so. */
  async cancelled(build: ReportedBuild): Promise<void> {
    await this.stoppedForGood(
      build,
      CANCELLED,
      `This build of ${build.sha.slice(0, 7)} was stopped: its workflow run was cancelled before it ended.`,
    );
  }

  private async stoppedForGood(build: ReportedBuild, why: string, what: string): Promise<void> {
    await this.statuses(build, "error", why, build.url);
    if (!build.checkRunId) return;
    await completeCheckRun(this.writer, build, build.checkRunId, {
      conclusion: "cancelled",
      title: why,
      summary: `${what}\n\nWhat it did before: ${build.url}`,
      annotations: [],
    });
  }

  /**
   * Interrupted by a restart and not run again: every status `error`
   * INTERRUPTED (unless `statuses` is false: a newer build of the commit owns
   * them), and the check run `cancelled` (found by the build id when the store
   * never got its id: `found` is told the id before the run is completed).
   * `was`: the build's state when it stopped.
   */
  async interrupted(
    build: ReportedBuild,
    options: { statuses: boolean; was: string; found(checkRunId: number): void },
  ): Promise<void> {
    if (options.statuses) await this.statuses(build, "error", INTERRUPTED, build.url);
    if (!this.checkRuns) return;
    const checkRunId = build.checkRunId ?? (await findOpenCheckRun(this.writer, build, build.checkRunName, build.id));
    if (!checkRunId) return;
    if (checkRunId !== build.checkRunId) options.found(checkRunId);
    await completeCheckRun(this.writer, build, checkRunId, {
      conclusion: "cancelled",
      title: "Interrupted by a restart of pyci",
      summary: `${INTERRUPTED}: the server stopped while this build was ${options.was}.\n\nWhat it did before: ${build.url}`,
      annotations: [],
    });
  }

  /**
   * Held for a maintainer's approval (a fork's commit, CI_FORK_POLICY=approve):
   * 1. a completed check run, conclusion `action_required`, whose "Approve and
   *    run" button sends `check_run.requested_action`;
   * 2. every status context `pending` "Waiting for a maintainer to approve
   *    <short sha>", linking to that check run: a required status keeps the
   *    pull request from merging unbuilt.
   * Returns the check run's id.
   */
  async awaitingApproval(target: ReportTarget, ask: ApprovalRequest): Promise<number> {
    const short = target.sha.slice(0, 7);
    const from = ask.fork ? `the fork ${markdownText(ask.fork)}` : "a fork that no longer exists";
    // 1. the check run with the button
    const { data } = await this.writer.octokit.rest.checks.create({
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
    this.writer.log.info({ checkRunId: data.id, pr: ask.prNumber }, "fork commit waits for approval");
    // 2. pending statuses that lead to it
    const targetUrl = data.html_url ?? `${ask.prUrl}/checks`;
    for (const context of ask.contexts) {
      await setStatus(this.writer, target, {
        context,
        state: "pending",
        description: waitingForApproval(target.sha),
        targetUrl,
      });
    }
    return data.id;
  }

  /**
   * Skipped (a fork's commit, CI_FORK_POLICY=skip), so that nothing looks
   * stuck: one completed check run, conclusion `skipped`; no status is set.
   * Without check runs, every status context `error` saying `why` instead.
   * Returns the check run's id.
   */
  async forkSkipped(
    target: ReportTarget,
    checkRunName: string,
    fallback: { contexts: string[]; why: string; url: string },
  ): Promise<number | undefined> {
    if (!this.checkRuns) {
      for (const context of fallback.contexts)
        await setStatus(this.writer, target, {
          context,
          state: "error",
          description: fallback.why,
          targetUrl: fallback.url,
        });
      this.writer.log.info({ why: fallback.why }, "fork commit not built");
      return undefined;
    }
    const { data } = await this.writer.octokit.rest.checks.create({
      owner: target.owner,
      repo: target.repo,
      name: checkRunName,
      head_sha: target.sha,
      external_id: "fork-skipped",
      status: "completed",
      conclusion: "skipped",
      completed_at: new Date().toISOString(),
      output: {
        title: FORK_SKIPPED_TITLE,
        summary: `${FORK_SKIPPED_TITLE} (CI_FORK_POLICY=skip): this server does not run code from forks, so ${target.sha.slice(0, 7)} was neither checked nor tested.`,
      },
    });
    this.writer.log.info({ checkRunId: data.id }, "fork commit not built (CI_FORK_POLICY=skip)");
    return data.id;
  }

  /** Every status context of the build's pipeline, in order. */
  private async statuses(
    build: ReportedBuild,
    state: "pending" | "error",
    description: string,
    targetUrl: string,
  ): Promise<void> {
    for (const context of Object.keys(build.contexts)) {
      await setStatus(this.writer, build, { context, state, description, targetUrl });
    }
  }
}
