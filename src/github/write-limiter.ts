import { setTimeout as sleep } from "node:timers/promises";

/** Writes one installation may send back to back after a quiet spell. */
export const WRITE_BURST = 10;
/** One more write per this many ms once the burst is spent: 60 a minute, under GitHub's 80 content-creating requests a minute. */
export const WRITE_REFILL_MS = 1000;

export interface WriteLimiterOptions {
  burst?: number;
  refillMs?: number;
  /** The clock and the wait, for tests. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Bucket {
  tokens: number;
  at: number;
  /** The last write queued for this key: the next one starts when it has ended. */
  tail: Promise<unknown>;
}

/**
 * Paces GitHub writes per key (an installation): one at a time, in the order
 * they were asked for (GitHub asks for serial requests per installation), and
 * at most `burst` back to back, then one per `refillMs` (a token bucket), so a
 * build's handful of writes goes out at once while a storm of them stays under
 * GitHub's secondary rate limits. Keys never wait for each other.
 */
export class WriteLimiter {
  private readonly burst: number;
  private readonly refillMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly buckets = new Map<string, Bucket>();

  constructor(options: WriteLimiterOptions = {}) {
    this.burst = options.burst ?? WRITE_BURST;
    this.refillMs = options.refillMs ?? WRITE_REFILL_MS;
    this.now = options.now ?? Date.now;
    // unref'd: a paced write never keeps the process alive on its own
    this.sleep = options.sleep ?? ((ms) => sleep(ms, undefined, { ref: false }));
  }

  /** Runs `job` when the writes queued before it for `key` have ended and the bucket has a token. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const bucket = this.bucket(key);
    const result = bucket.tail.then(async () => {
      await this.take(bucket);
      return job();
    });
    bucket.tail = result.catch(() => undefined);
    return result;
  }

  private bucket(key: string): Bucket {
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = { tokens: this.burst, at: this.now(), tail: Promise.resolve() }));
    return bucket;
  }

  private async take(bucket: Bucket): Promise<void> {
    this.refill(bucket);
    if (bucket.tokens < 1) {
      await this.sleep(Math.ceil((1 - bucket.tokens) * this.refillMs));
      this.refill(bucket);
      // a clock that did not move (tests) still lets the write through: the wait was the point
      bucket.tokens = Math.max(bucket.tokens, 1);
    }
    bucket.tokens -= 1;
  }

  private refill(bucket: Bucket): void {
    const now = this.now();
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) / this.refillMs);
    bucket.at = now;
  }
}
