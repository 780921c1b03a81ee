import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "probot";
import type { BuildRequest } from "../model/build-request.js";
import { INTERRUPTED } from "../report/stop-text.js";
import type { BuildRecord, BuildStore } from "../store/build-store.js";
import type { BuildDeps } from "./build-deps.js";
import { reporterFor } from "./reporter-for.js";
import { buildLog } from "./build-log.js";
import { reportedBuild } from "./reported-build.js";

/** After a failed attempt to tell GitHub, wait this long before the next (5 s … 30 min, about 45 min in all), then give up. */
export const RETRY_DELAYS_MS = [5_000, 30_000, 120_000, 600_000, 1_800_000];

/** GitHub answers these for good (installation or repository gone, the commit unknown): no retry helps. */
const PERMANENT = new Set([400, 404, 410, 422]);

export interface SettleOptions {
  retryDelaysMs?: number[];
  /** The builds to settle; default: every unfinished build in the store. */
  builds?: BuildRecord[];
}

export interface SettleReport {
  /** Builds now `error` on GitHub and in the store. */
  settled: string[];
  /** Builds recorded as `error` that GitHub could not be told about. */
  givenUp: string[];
}

/**
 * Settles, as `error`, the interrupted builds that are not run again: those
 * resumeBuilds gives up on (started MAX_ATTEMPTS times already, or stored
 * without their request), or by default every unfinished build in the store.
 * It says so on GitHub, and a re-run from the check run builds the commit again.
 * 1. Takes them at the call: call this before the server accepts
 *    deliveries, so that no build of this process is among them.
 * 2. Hands each to the build reporter: every status context of the build's
 *    pipeline `error` INTERRUPTED (unless a newer build of the same commit
 *    and pipeline owns them now) and its check run `cancelled` (found by the
 *    build id when the store never got the run's id).
 * 3. Records it in the store as `error`, with a `pyci` step saying why.
 * When GitHub cannot be told (unreachable, 5xx, rate limited, bad
 * credentials), the build stays unfinished in the store, so that another
 * restart would find it again, and is tried again after each of
 * `retryDelaysMs`; after the last, or when GitHub refuses for good (404,
 * 410, 422), it is recorded as `error` anyway and the error is logged.
 * The promise never rejects.
 */
export function settleInterrupted(deps: BuildDeps, options: SettleOptions = {}): Promise<SettleReport> {
  const interrupted = options.builds ?? deps.store.unfinished();
  return settleAll(deps, interrupted, options.retryDelaysMs ?? RETRY_DELAYS_MS);
}

async function settleAll(deps: BuildDeps, builds: BuildRecord[], retryDelaysMs: number[]): Promise<SettleReport> {
  const report: SettleReport = { settled: [], givenUp: [] };
  if (builds.length === 0) return report;
  deps.log.info({ builds: builds.length }, "settling the builds a restart interrupted");
  let pending = builds;
  for (let attempt = 0; pending.length > 0; attempt++) {
    const lastAttempt = attempt >= retryDelaysMs.length;
    const again: BuildRecord[] = [];
    for (const build of pending) {
      const outcome = await settle(deps, build, lastAttempt);
      if (outcome === "retry") again.push(build);
      else report[outcome].push(build.id);
    }
    pending = again;
    // unref'd: a wait for GitHub never keeps the process alive
    if (pending.length > 0) await sleep(retryDelaysMs[attempt]!, undefined, { ref: false });
  }
  return report;
}

async function settle(
  deps: BuildDeps,
  build: BuildRecord,
  lastAttempt: boolean,
): Promise<"settled" | "givenUp" | "retry"> {
  const log = buildLog(deps.log, build, build.id);
  try {
    if (!build.request) {
      log.error(
        { state: build.state },
        "an interrupted build has no request to report with; it may stay pending on GitHub",
      );
      recordInterrupted(deps.store, build);
      return "givenUp";
    }
    try {
      await tellGitHub(deps, build, build.request, log);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (!lastAttempt && (status === undefined || !PERMANENT.has(status))) {
        log.warn({ err: error, status }, "could not settle an interrupted build on GitHub; trying again later");
        return "retry";
      }
      log.error({ err: error, status }, "could not settle an interrupted build on GitHub; it may stay pending there");
      recordInterrupted(deps.store, build);
      return "givenUp";
    }
    recordInterrupted(deps.store, build);
    log.info({ was: build.state }, "interrupted build settled as error");
    return "settled";
  } catch (error) {
    // the store failed: the next start finds the build again
    log.error({ err: error }, "could not record an interrupted build");
    return "givenUp";
  }
}

async function tellGitHub(deps: BuildDeps, build: BuildRecord, request: BuildRequest, log: Logger): Promise<void> {
  const reporter = reporterFor(deps, await deps.octokitFor(request.installationId), log);
  await reporter.interrupted(reportedBuild(deps, request, build), {
    // a newer build of the same commit and pipeline owns the statuses now
    statuses: !superseded(deps.store, build),
    was: build.state,
    // killed between GitHub creating the run and the store keeping its id: found by the build id
    found: (checkRunId) => (build.checkRunId = checkRunId),
  });
}

/** Whether a newer build of the same commit and pipeline exists: its statuses are the ones to keep. */
function superseded(store: BuildStore, build: BuildRecord): boolean {
  return store
    .list({ owner: build.owner, repo: build.repo, limit: 100 })
    .some(
      (b) => b.id !== build.id && b.sha === build.sha && b.pipeline === build.pipeline && b.createdAt > build.createdAt,
    );
}

function recordInterrupted(store: BuildStore, build: BuildRecord): void {
  build.state = "error";
  build.error = INTERRUPTED;
  build.finishedAt = new Date().toISOString();
  build.steps.push({ name: "pyci", state: "error", summary: INTERRUPTED, exitCode: null, durationMs: 0 });
  store.save(build);
}
