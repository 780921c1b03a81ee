import type { BuildQueue } from "../builds/build-queue.js";
import type { StopReason } from "../builds/stop-reason.js";
import type { ActionsOutcome } from "./actions-outcome.js";

const CANCELLED: StopReason = { kind: "cancelled" };

export interface JobCancellation {
  /** Whether a SIGINT or SIGTERM came. */
  readonly cancelled: boolean;
  /** Resolves once the job's builds are over: run, or cancelled and reported. */
  settled(): Promise<void>;
}

/**
 * A cancelled job (by hand, or by a newer run of its concurrency group): the runner sends the
 * step SIGINT, SIGTERM 7.5 s later, then SIGKILL. At the first, the queue starts nothing more
 * and every build of the job is cancelled — a running one's processes are killed — and reported
 * `cancelled` (its statuses `error`, its check run `cancelled`), so that no status stays `pending`.
 */
export function cancelOnSignals(queue: BuildQueue, outcome: ActionsOutcome): JobCancellation {
  let cancelled = false;
  const cancel = () => {
    cancelled = true;
    queue.pause();
    for (const build of outcome.builds) queue.cancel(build.id, CANCELLED);
  };
  process.on("SIGINT", cancel);
  process.on("SIGTERM", cancel);
  return {
    get cancelled() {
      return cancelled;
    },
    async settled() {
      await queue.onIdle();
      if (!cancelled) return;
      // builds accepted after the signal wait in the paused queue: they are cancelled too
      cancel();
      await queue.onIdle();
    },
  };
}
