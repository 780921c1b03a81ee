/** A job of the queue, named by `key` (the build id) so that it can be cancelled. */
export interface QueueJob {
  key: string;
  /** Runs the job; `signal` aborts when the job is cancelled or the queue stops, with the reason given. */
  run(signal: AbortSignal): Promise<void>;
  /** Called instead of `run` when the job is cancelled before it started. */
  cancelled?(reason: unknown): Promise<void>;
}

/**
 * Runs build jobs with bounded concurrency, first come first served.
 * A job can be cancelled: taken out while it waits, or aborted (through its
 * signal) while it runs. A job that throws is logged by its owner; the
 * queue only keeps going. Paused, it starts nothing more (shutdown).
 */
export class BuildQueue {
  private readonly waiting: QueueJob[] = [];
  private readonly runningJobs = new Map<string, AbortController>();
  /** Running jobs without a key and the `cancelled` handlers of waiting jobs taken out. */
  private anonymous = 0;
  private settling = 0;
  private paused = false;
  private idleWaiters: (() => void)[] = [];
  private nextAnonymous = 0;

  /** `concurrency`: jobs run at once (CI_CONCURRENCY; with CI_REDIS_URL, the builds the server follows at once). */
  constructor(readonly concurrency: number) {}

  add(job: QueueJob | (() => Promise<void>)): void {
    this.waiting.push(typeof job === "function" ? { key: `anonymous-${this.nextAnonymous++}`, run: job } : job);
    this.next();
  }

  /** Jobs waiting for a slot. */
  get length(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.runningJobs.size + this.anonymous;
  }

  /** How many jobs wait before the job `key`; undefined when it is not waiting. */
  ahead(key: string): number | undefined {
    const index = this.waiting.findIndex((job) => job.key === key);
    return index < 0 ? undefined : index;
  }

  /**
   * Cancels the job `key` with `reason`: a waiting job is taken out (its
   * `cancelled` handler runs), a running one is aborted. Returns which it was,
   * or undefined when the queue does not have it.
   */
  cancel(key: string, reason: unknown): "waiting" | "running" | undefined {
    const index = this.waiting.findIndex((job) => job.key === key);
    if (index >= 0) {
      const [job] = this.waiting.splice(index, 1);
      this.settle(job!.cancelled?.(reason));
      return "waiting";
    }
    const controller = this.runningJobs.get(key);
    if (!controller) return undefined;
    controller.abort(reason);
    return "running";
  }

  /** Starts nothing more; waiting jobs stay where they are (they are in the store: the next process runs them). */
  pause(): void {
    this.paused = true;
  }

  /** Aborts every running job with `reason`. */
  abortRunning(reason: unknown): void {
    for (const controller of this.runningJobs.values()) controller.abort(reason);
  }

  /** Resolves when nothing is running, nothing is being cancelled and, unless paused, nothing is waiting. */
  onIdle(): Promise<void> {
    if (this.idle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private idle(): boolean {
    return this.running === 0 && this.settling === 0 && (this.paused || this.waiting.length === 0);
  }

  private next(): void {
    while (!this.paused && this.running < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      const controller = new AbortController();
      const anonymous = job.key.startsWith("anonymous-");
      if (anonymous) this.anonymous++;
      else this.runningJobs.set(job.key, controller);
      void Promise.resolve()
        .then(() => job.run(controller.signal))
        .catch(() => undefined)
        .finally(() => {
          if (anonymous) this.anonymous--;
          else this.runningJobs.delete(job.key);
          this.next();
          this.wakeIdle();
        });
    }
    this.wakeIdle();
  }

  private settle(work: Promise<void> | undefined): void {
    if (!work) return;
    this.settling++;
    void work
      .catch(() => undefined)
      .finally(() => {
        this.settling--;
        this.wakeIdle();
      });
  }

  private wakeIdle(): void {
    if (this.idle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
