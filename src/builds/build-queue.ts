/**
 * Runs build jobs with bounded concurrency, first come first served.
 * A job that throws is logged by its owner; the queue only keeps going.
 */
export class BuildQueue {
  private readonly waiting: (() => Promise<void>)[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  add(job: () => Promise<void>): void {
    this.waiting.push(job);
    this.next();
  }

  /** Jobs waiting for a slot. */
  get length(): number {
    return this.waiting.length;
  }

  get running(): number {
    return this.active;
  }

  /** Resolves when nothing is running or waiting. */
  onIdle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private next(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const job = this.waiting.shift()!;
      this.active++;
      void job()
        .catch(() => undefined)
        .finally(() => {
          this.active--;
          this.next();
          if (this.active === 0 && this.waiting.length === 0) {
            for (const resolve of this.idleWaiters.splice(0)) resolve();
          }
        });
    }
  }
}
