import { setTimeout as sleep } from "node:timers/promises";

/** Writes one installation may send back to back after a quiet spell. */
export const WRITE_BURST = 10;
/** One more write per this many ms once the burst is spent: 60 a minute. */
export const WRITE_REFILL_MS = 1000;
/**
 * Tokens an opening write (a new build's `pending`) may borrow from the
 * writes after it: burst + borrow + 60 refills = 80 in any minute, GitHub's
 * ceiling on content-creating requests.
 */
export const OPENING_BORROW = 10;

export interface WriteLimiterOptions {
  burst?: number;
  refillMs?: number;
  borrow?: number;
  /** The clock and the wait, for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Waiting {
  job: () => Promise<unknown>;
  opening: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Bucket {
  /** Below zero while opening writes have borrowed. */
  tokens: number;
  at: number;
  /** Opening writes first, each kind in the order asked for. */
  queue: Waiting[];
  pumping: boolean;
  /** Ends the pump's wait early: an opening write arrived that may go now. */
  wake: (() => void) | undefined;
}

/**
 * Paces GitHub writes per key (an installation): one at a time (GitHub asks
 * for serial requests per installation), at most `burst` back to back, then
 * one per `refillMs` (a token bucket), so a build's handful of writes goes out
 * at once while a storm of them stays under GitHub's secondary rate limits.
 * An opening write — the first `pending` a new build shows — goes before the
 * writes waiting and may borrow up to `borrow` tokens that later writes wait
 * for: a push shows `pending` at once even while the installation's earlier
 * builds are being paced. Keys never wait for each other.
 */
export class WriteLimiter {
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly borrow: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: WriteLimiterOptions = {}) {
    this.burst = options.burst ?? WRITE_BURST;
    this.refillMs = options.refillMs ?? WRITE_REFILL_MS;
    this.borrow = options.borrow ?? OPENING_BORROW;
    this.now = options.now ?? Date.now;
    // unref'd: a paced write never keeps the process alive on its own
    this.sleep = options.sleep ?? ((ms) => sleep(ms, undefined, { ref: false }));
  }

  /** Runs `job` when it is its turn among `key`'s writes and the bucket allows it. */
  run<T>(key: string, job: () => Promise<T>, kind: { opening?: boolean } = {}): Promise<T> {
    const bucket = this.bucket(key);
    const opening = kind.opening === true;
    const result = new Promise<T>((resolve, reject) => {
      const entry: Waiting = { job, opening, resolve: resolve as (value: unknown) => void, reject };
      const firstOrdinary = opening ? bucket.queue.findIndex((w) => !w.opening) : -1;
      if (firstOrdinary >= 0) bucket.queue.splice(firstOrdinary, 0, entry);
      else bucket.queue.push(entry);
    });
    if (opening) bucket.wake?.();
    void this.pump(bucket);
    return result;
  }

  private bucket(key: string): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket)
      this.buckets.set(
        key,
        (bucket = { tokens: this.burst, at: this.now(), queue: [], pumping: false, wake: undefined }),
      );
    return bucket;
  }

  /** Sends the bucket's writes one after another, each when the bucket has (or may borrow) its token. */
  private async pump(bucket: Bucket): Promise<void> {
    if (bucket.pumping) return;
    bucket.pumping = true;
    try {
      while (bucket.queue.length > 0) {
        const next = bucket.queue[0]!;
        const floor = next.opening ? 1 - this.borrow : 1;
        this.refill(bucket);
        if (bucket.tokens < floor) {
          const woken = await this.waitOrWake(bucket, Math.ceil((floor - bucket.tokens) * this.refillMs));
          if (woken) continue;
          this.refill(bucket);
          // a clock that did not move (tests) still lets the write through: the wait was the point
          bucket.tokens = Math.max(bucket.tokens, floor);
        }
        bucket.queue.shift();
        bucket.tokens -= 1;
        try {
          next.resolve(await next.job());
        } catch (error) {
          next.reject(error);
        }
      }
    } finally {
      bucket.pumping = false;
    }
  }

  /** True when an opening write ended the wait early. */
  private async waitOrWake(bucket: Bucket, ms: number): Promise<boolean> {
    const woken = new Promise<true>((resolve) => (bucket.wake = () => resolve(true)));
    const outcome = await Promise.race([this.sleep(ms).then(() => false as const), woken]);
    bucket.wake = undefined;
    return outcome;
  }

  private refill(bucket: Bucket): void {
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) / this.refillMs);
    bucket.at = now;
  }
}
