import type { BuildEvents, DeliveryDetail, DeliveryOutcome } from "../metrics/build-events.js";
import type { BuildRecord } from "../store/build-store.js";

export interface Verdict {
  /** 0: every build passed, or the event asks for none; 1: a step failed; 2: pyci could not run or report. */
  exitCode: 0 | 1 | 2;
  /** One line per build (or why there was none), for the job's log. */
  lines: string[];
}

/**
 * What became of the event a job was started for: the builds it started
 * (live records, final once the queue is idle), why it started none, and
 * whether a handler threw. The job's exit code is decided from it.
 */
export class ActionsOutcome implements BuildEvents {
  readonly builds: BuildRecord[] = [];
  readonly ignored: string[] = [];
  readonly errors: Error[] = [];
  private event: string | undefined;

  received(name: string, action: unknown): void {
    this.event = typeof action === "string" ? `${name}.${action}` : name;
  }

  /** The handlers tell what became of the event's delivery. */
  delivery(_event: string, outcome: DeliveryOutcome, detail: DeliveryDetail = {}): void {
    if (outcome === "accepted" && detail.record) this.accepted(detail.record);
    if (outcome === "ignored" && detail.reason !== undefined) this.ignoredBecause(detail.reason);
  }

  /** Steps are printed from the store once the queue is idle (print-step-logs.ts). */
  stepFinished(): void {}

  accepted(record: BuildRecord): void {
    this.builds.push(record);
  }

  ignoredBecause(reason: string): void {
    this.ignored.push(reason);
  }

  failed(error: Error): void {
    this.errors.push(error);
  }

  /** Call once the build queue is idle. */
  verdict(): Verdict {
    const lines = this.builds.map(describe);
    if (this.errors.length > 0) {
      return {
        exitCode: 2,
        lines: [
          ...lines,
          ...this.errors.map((e) => `pyci could not handle ${this.event ?? "the event"}: ${e.message}`),
        ],
      };
    }
    if (this.builds.length === 0) {
      const why =
        this.ignored.length > 0
          ? this.ignored.join("; ")
          : this.event
            ? `pyci does not build on ${this.event}`
            : "no event was received";
      return { exitCode: 0, lines: [`No build for ${this.event ?? "this event"}: ${why}`] };
    }
    const states = new Set(this.builds.map((b) => b.state));
    // a build still queued or running here was cut short: pyci did not finish it
    if (states.has("error") || states.has("queued") || states.has("running")) return { exitCode: 2, lines };
    if (states.has("failure")) return { exitCode: 1, lines };
    return { exitCode: 0, lines };
  }
}

function describe(record: BuildRecord): string {
  const what = `${record.pipeline === "docs" ? "docs build" : "build"} of ${record.sha.slice(0, 7)}`;
  const bad = record.steps.filter((s) => s.state === "failure" || s.state === "error");
  const detail = (bad.length > 0 ? bad : record.steps).map((s) => `${s.name}: ${s.summary}`).join("; ");
  return `${what}: ${record.state}${detail ? ` (${detail})` : ""}`;
}
