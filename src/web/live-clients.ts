export type LiveAdmission =
  /** Admitted: `release` gives the place back (idempotent); call it when the stream ends, however it ends. */
  | { admitted: true; release(): void }
  /** Refused: the build's streams (`per-build`) or all of them (`total`) are at their cap. */
  | { admitted: false; cap: "per-build" | "total"; limit: number };

/**
 * Counts the open live-log streams (Server-Sent Events), per build and in all, and admits a new one
 * only under both caps (CI_LIVE_CLIENTS_PER_BUILD, CI_LIVE_CLIENTS): each stream holds a connection,
 * a store subscription and a timer for as long as its client stays, so their number is bounded.
 */
export class LiveClients {
  #open = new Map<string, number>();
  #total = 0;

  constructor(readonly limits: { perBuild: number; total: number }) {}

  /** Open streams: of `buildId`, or in all. */
  open(buildId?: string): number {
    return buildId === undefined ? this.#total : (this.#open.get(buildId) ?? 0);
  }

  admit(buildId: string): LiveAdmission {
    const mine = this.open(buildId);
    if (mine >= this.limits.perBuild) return { admitted: false, cap: "per-build", limit: this.limits.perBuild };
    if (this.#total >= this.limits.total) return { admitted: false, cap: "total", limit: this.limits.total };
    this.#open.set(buildId, mine + 1);
    this.#total++;
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.#total--;
        const left = this.open(buildId) - 1;
        if (left > 0) this.#open.set(buildId, left);
        else this.#open.delete(buildId);
      },
    };
  }
}
