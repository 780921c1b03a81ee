import type { StepResult } from "../pipeline/types.js";
import { formatDuration } from "../report/summary-markdown.js";

/** Where `pyci` writes: stdout and stderr, or what a test collects. */
export type Output = { write(text: string): void; isTTY?: boolean };

/** A step's mark in the progress: a failure (the tool said no) is not an error (pyci could not run it). */
const MARKS: Record<StepResult["state"], string> = { success: "✓", failure: "✗", error: "⚠", skipped: "-" };

/**
 * The one writer of `pyci run`'s screen while the pipeline runs: which steps
 * are running and for how long (one rewritten line on a terminal, plain
 * lines elsewhere), each step's end, and with --verbose the steps' output.
 * A mark always starts a line, even after output that did not end one.
 */
export class Progress {
  private readonly running = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private atLineStart = true;
  /** Whether the running steps' line is on the terminal, to be cleared before anything else is written. */
  private drawn = false;

  constructor(private readonly out: Output) {}

  start(): void {
    if (this.out.isTTY) this.timer = setInterval(() => this.draw(), 500);
  }

  /** A step's output (--verbose). */
  print(text: string): void {
    if (text === "") return;
    this.clear();
    this.write(text);
  }

  stepStarted(step: string): void {
    this.running.set(step, performance.now());
    if (!this.out.isTTY) this.line(`▶ ${step} started`);
    else this.draw();
  }

  stepEnded(result: StepResult): void {
    this.running.delete(result.name);
    this.clear();
    this.line(`${MARKS[result.state]} ${result.name}: ${result.summary} (${formatDuration(result.durationMs)})`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }

  private line(text: string): void {
    this.write(`${this.atLineStart ? "" : "\n"}${text}\n`);
  }

  private write(text: string): void {
    this.out.write(text);
    this.atLineStart = text.endsWith("\n");
  }

  private draw(): void {
    if (this.running.size === 0 || !this.atLineStart) return;
    const now = performance.now();
    const parts = [...this.running].map(([step, since]) => `${step} ${Math.floor((now - since) / 1000)}s`);
    this.out.write(`\r\u001b[2K… running ${parts.join(", ")}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.out.write("\r\u001b[2K");
    this.drawn = false;
  }
}
