import type { StatusRecord } from "../test/support/fake-github.js";
import { postDelivery, type Delivery } from "./deliver.js";
import type { Harness } from "./harness.js";

/** Milliseconds from the moment the delivery was sent. */
export interface BuildTiming {
  /** The webhook request's response (2xx). */
  ackMs: number;
  /** The first `pending` status for the commit reached the fake GitHub. */
  pendingMs: number;
  /** Every status context pending and the check run created. */
  allPendingMs: number;
  /** Every status context final and the check run completed. */
  finalMs: number;
  /** The build whose page the final statuses link to. */
  buildId: string;
}

export interface WatchOptions {
  hookUrl: string;
  delivery: Delivery;
  sha: string;
  /** Status contexts the pipeline reports: ["ci/check", "ci/test"], or ["ci/docs"]. */
  contexts: string[];
  /** The check run's name ("pyci", "pyci docs"). */
  checkRun: string;
  timeoutMs?: number;
}

/**
 * Sends one delivery and times, on the fake GitHub's side, when its build's statuses and check run arrive.
 * Only statuses posted after the delivery count, so a re-run of a commit is timed on its own reports.
 */
export async function watchBuild(h: Harness, o: WatchOptions): Promise<BuildTiming> {
  const { fake } = h;
  const statusesBefore = fake.statuses.length;
  const runsBefore = new Map(fake.checkRuns.map((r) => [r.id, r.history.length]));
  const marks: Partial<Record<"pending" | "allPending" | "final", number>> = {};
  let started = Number.NaN;
  let buildId = "";

  const mine = () => fake.statuses.slice(statusesBefore).filter((s) => s.sha === o.sha);
  const latest = (list: StatusRecord[], context: string) => list.filter((s) => s.body.context === context).at(-1);
  // a check run touched since the delivery: created, or updated by a re-run
  const runs = () =>
    fake.checkRuns.filter(
      (r) =>
        r.fields.head_sha === o.sha && r.fields.name === o.checkRun && r.history.length > (runsBefore.get(r.id) ?? 0),
    );

  const settled = fake.waitFor(() => {
    if (Number.isNaN(started)) return false;
    const now = performance.now() - started;
    const list = mine();
    if (marks.pending === undefined && list.some((s) => s.body.state === "pending")) marks.pending = now;
    if (
      marks.allPending === undefined &&
      o.contexts.every((c) => list.some((s) => s.body.context === c && s.body.state === "pending")) &&
      runs().length > 0
    ) {
      marks.allPending = now;
    }
    const finals = o.contexts.map((c) => latest(list, c));
    const final =
      finals.every((s) => s && s.body.state !== "pending") && runs().some((r) => r.fields.status === "completed");
    if (final) {
      marks.final = now;
      buildId =
        String(finals[0]!.body.target_url ?? "")
          .split("/")
          .at(-1) ?? "";
    }
    return final;
  }, o.timeoutMs ?? 300_000);

  started = performance.now();
  const ack = await postDelivery(o.hookUrl, h.secret, o.delivery);
  if (ack.status < 200 || ack.status >= 300) throw new Error(`the delivery was answered ${ack.status}`);
  await settled;
  return {
    ackMs: ack.ms,
    pendingMs: marks.pending ?? Number.NaN,
    allPendingMs: marks.allPending ?? marks.final!,
    finalMs: marks.final!,
    buildId,
  };
}
