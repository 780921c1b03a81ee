/**
 * A worker's CI_CONCURRENCY, shared by the BullMQ Workers of every queue it serves (one per label
 * set). BullMQ bounds each Worker alone; this bounds them together: a build runs only once it took
 * a slot, and `onFull(true)` / `onFull(false)` tell the owner to pause and resume fetching.
 */
export class WorkerSlots {
  private taken = 0;

  constructor(
    readonly size: number,
    private readonly onFull: (full: boolean) => void,
  ) {}

  get full(): boolean {
    return this.taken >= this.size;
  }

  /** A slot for one build, or false when all are taken (the caller gives the build back). */
  take(): boolean {
    if (this.full) return false;
    this.taken++;
    if (this.full) this.onFull(true);
    return true;
  }

  release(): void {
    const wasFull = this.full;
    this.taken = Math.max(0, this.taken - 1);
    if (wasFull && !this.full) this.onFull(false);
  }
}
