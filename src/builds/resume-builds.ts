import type { BuildRecord } from "../store/build-store.js";
import { enqueueBuild, reportQueued } from "./accept-build.js";
import type { BuildDeps } from "./build-deps.js";
import { buildLog } from "./build-log.js";
import { settleInterrupted, type SettleOptions, type SettleReport } from "./settle-interrupted.js";
import { endStopped } from "./end-stopped.js";

/** A build a restart interrupted is run again until it has been started this often; then it is settled as `error`. */
export const MAX_ATTEMPTS = 3;

export interface ResumeReport extends SettleReport {
  /** Builds queued again. */
  requeued: string[];
  /** Builds of a pull request's older head, reported superseded. */
  superseded: string[];
}

/**
 * What an earlier process left queued or running, taken from the store
 * before this one accepts deliveries (call it at load):
 * 1. builds of a pull request whose newer head has a build are superseded;
 * 2. the others are queued again, in the order they came, with their
 *    `pending` statuses and check run reported again (the earlier process
 *    may have died before it did): the queue survives a crash; a build that
 *    goes on on a worker is followed again from what was applied of it;
 * 3. a build started MAX_ATTEMPTS times already (it may be what kills the
 *    server), or one without its request, is settled as `error` on GitHub
 *    (see settleInterrupted). Nothing stays `pending`.
 */
export async function resumeBuilds(deps: BuildDeps, options: SettleOptions = {}): Promise<ResumeReport> {
  const unfinished = options.builds ?? deps.store.unfinished();
  const report: ResumeReport = { requeued: [], superseded: [], settled: [], givenUp: [] };
  const settle: BuildRecord[] = [];
  const resumable: BuildRecord[] = [];
  for (const build of unfinished) {
    if (!build.request || (build.attempts ?? 0) >= MAX_ATTEMPTS) settle.push(build);
    else resumable.push(build);
  }

  // 1. superseded by a newer head of the same pull request
  const superseded = resumable.filter((build) => newerHead(unfinished, build) !== undefined);
  for (const build of superseded) {
    prepareRerun(deps, build);
    await endStopped(deps, build.request!, build, { kind: "superseded", by: newerHead(unfinished, build)!.sha });
    // a worker may still be running it for nobody
    await deps.executor
      .stop?.(build.id)
      .catch((err: unknown) =>
        buildLog(deps.log, build.request!, build.id).warn(
          { err },
          "could not tell the workers to stop a superseded build",
        ),
      );
    report.superseded.push(build.id);
  }

  // 2. queued again
  for (const build of resumable.filter((b) => !superseded.includes(b))) {
    const request = build.request!;
    const log = buildLog(deps.log, request, build.id);
    // a build a worker goes on with is followed on from what is stored; GitHub has its pending already
    const following = deps.executor.detached && build.streamApplied !== undefined;
    if (following) await keepApplied(deps, build);
    else prepareRerun(deps, build);
    log.info({ attempts: build.attempts ?? 0, following }, "build interrupted by a restart queued again");
    enqueueBuild(
      deps,
      request,
      build,
      log,
      following
        ? Promise.resolve()
        : reportQueued(
            deps,
            request,
            build,
            log,
            deps.queue.running >= deps.queue.concurrency ? deps.queue.length : undefined,
          ),
    );
    report.requeued.push(build.id);
  }

  // 3. the rest settled as error
  const settled = await settleInterrupted(deps, { ...options, builds: settle });
  return { ...report, settled: settled.settled, givenUp: settled.givenUp };
}

/** The newest unfinished build of the same pull request and pipeline at another commit, created after `build`. */
function newerHead(unfinished: BuildRecord[], build: BuildRecord): BuildRecord | undefined {
  const pr = prNumber(build);
  if (pr === undefined) return undefined;
  return unfinished.findLast(
    (b) =>
      b.owner === build.owner &&
      b.repo === build.repo &&
      prNumber(b) === pr &&
      b.pipeline === build.pipeline &&
      b.sha !== build.sha &&
      b.createdAt > build.createdAt,
  );
}

function prNumber(build: BuildRecord): number | undefined {
  return build.prNumber ?? build.request?.prNumber;
}

/**
 * A detached build keeps what was applied of its worker's report (its ended steps and their logs);
 * the log of a step that had not ended is read again from the stream, so it goes.
 */
async function keepApplied(deps: BuildDeps, build: BuildRecord): Promise<void> {
  const ended = new Set(build.steps.map((step) => step.name));
  for (const { step } of await deps.store.logSteps(build.id))
    if (!ended.has(step)) deps.store.removeLog(build.id, step);
}

/** Back to `queued` with no steps or logs: it starts from the beginning. */
function prepareRerun(deps: BuildDeps, build: BuildRecord): void {
  build.state = "queued";
  build.steps = [];
  delete build.startedAt;
  deps.store.save(build);
  deps.store.removeLogs(build.id);
}
