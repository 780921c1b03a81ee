import type { Logger } from "probot";
import type { OutboxEntry, OutboxKind, OutboxRequest, OutboxStore } from "../store/outbox-store.js";
import { retryableFailure } from "./retryable-failure.js";
import type { Octokit } from "./types.js";

/** After the n-th failed attempt, wait RETRY_DELAYS_MS[n-1] (the last one repeats)… */
export const OUTBOX_RETRY_DELAYS_MS = [5_000, 15_000, 60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000];
/** …until the write is this old; then it is dropped (and logged). */
export const OUTBOX_MAX_AGE_MS = 24 * 60 * 60_000;
/** How often the outbox looks for writes that are due. */
export const OUTBOX_POLL_MS = 5_000;

/** Later than any next attempt (ISO strings compare as text: a 4-digit year). */
const MAX_DATE_MS = Date.parse("9999-12-31T23:59:59.999Z");

/** A write that sets one thing on GitHub: a status context of a commit, or a check run. */
export interface OutboxWrite {
  kind: OutboxKind;
  /** What it sets (see statusKey, checkRunKey): a newer write of the same key replaces an undelivered older one. */
  key: string;
  /** Sent in order; those not yet sent when GitHub fails are kept. */
  requests: OutboxRequest[];
}

export interface GitHubOutboxOptions {
  store: OutboxStore;
  /** An Octokit for the installation (the same as builds get). */
  octokitFor(installationId: number | undefined): Promise<Octokit>;
  log: Logger;
  retryDelaysMs?: number[];
  maxAgeMs?: number;
  pollMs?: number;
  now?: () => number;
}

/**
 * GitHub writes that must arrive even when GitHub is down for minutes:
 * commit statuses and check-run updates. A write goes out at once
 * (`deliver`); when it still fails after Octokit's own retries and the failure
 * may pass (retryableFailure), it is kept in SQLite and sent again later with
 * backoff, by this process or, after a crash, the next one (`start`).
 * Newest write wins: writes of one key run one at a time in this process, and
 * each first drops the undelivered older write of its key, so a late retry of
 * `pending` never overwrites a `success` sent since.
 */
export class GitHubOutbox {
  private readonly store: OutboxStore;
  private readonly octokitFor: (installationId: number | undefined) => Promise<Octokit>;
  private readonly log: Logger;
  private readonly retryDelaysMs: number[];
  private readonly maxAgeMs: number;
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly locks = new Map<string, Promise<unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;

  constructor(options: GitHubOutboxOptions) {
    this.store = options.store;
    this.octokitFor = options.octokitFor;
    this.log = options.log;
    this.retryDelaysMs = options.retryDelaysMs ?? OUTBOX_RETRY_DELAYS_MS;
    this.maxAgeMs = options.maxAgeMs ?? OUTBOX_MAX_AGE_MS;
    this.pollMs = options.pollMs ?? OUTBOX_POLL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Writes waiting in the outbox. */
  size(): number {
    return this.store.size();
  }

  /**
   * Sends `write` now with `octokit` (the installation `installationId`'s). "kept": it failed in a way
   * that may pass and waits in the outbox, to be sent as that installation; a failure that will not pass is thrown.
   */
  async deliver(
    octokit: Octokit,
    log: Logger,
    installationId: number | undefined,
    write: OutboxWrite,
  ): Promise<"sent" | "kept"> {
    return this.locked(write.key, async () => {
      // newer than anything kept for the same key: that is never sent now
      this.store.remove(write.key);
      const sent = await sendAll(octokit, write.requests);
      if (sent.error === undefined) return "sent";
      const failure = retryableFailure(sent.error, this.now());
      if (!failure.retryable) throw sent.error;
      const entry = this.store.put({
        kind: write.kind,
        key: write.key,
        ...(installationId !== undefined ? { installationId } : {}),
        requests: sent.left,
        attempts: 1,
        createdAt: new Date(this.now()).toISOString(),
        nextAttemptAt: this.nextAttempt(1, failure.retryAfterMs),
        lastError: failure.summary,
      });
      log.warn(
        { kind: write.kind, key: write.key, status: failure.status, nextAttemptAt: entry.nextAttemptAt },
        "GitHub write failed; kept in the outbox to retry later",
      );
      return "kept";
    });
  }

  /**
   * Sends everything kept, due or not (a new process: what a dead one could
   * not send goes out now, GitHub may well be back), then what is due every
   * pollMs (unref'd: the outbox never keeps the process alive).
   */
  start(): void {
    if (this.timer) return;
    void this.drain({ all: true });
    this.timer = setInterval(() => void this.drain(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * One pass over the writes that are due (`all`: every kept one), oldest first; it stops at the first
   * that fails in a way that may pass (GitHub is still down: the others wait
   * for the next pass). Never rejects.
   */
  drain(options: { all?: boolean } = {}): Promise<void> {
    this.draining ??= this.pass(options.all === true).finally(() => (this.draining = undefined));
    return this.draining;
  }

  private async pass(all: boolean): Promise<void> {
    try {
      for (const entry of this.store.due(all ? new Date(MAX_DATE_MS) : new Date(this.now()))) {
        if ((await this.retry(entry)) === "still failing") return;
      }
    } catch (error) {
      this.log.error({ err: error }, "the GitHub outbox could not be read; retrying on the next pass");
    }
  }

  private retry(due: OutboxEntry): Promise<"done" | "still failing"> {
    return this.locked(due.key, async () => {
      const entry = this.store.get(due.key);
      // delivered, replaced by a newer write, or given up since it was read
      if (!entry || entry.version !== due.version) return "done";
      const log = this.log.child({ kind: entry.kind, key: entry.key, installationId: entry.installationId });
      let error: unknown;
      let left = entry.requests;
      try {
        const sent = await sendAll(await this.octokitFor(entry.installationId), entry.requests);
        error = sent.error;
        left = sent.left;
      } catch (authError) {
        error = authError;
      }
      if (error === undefined) {
        this.store.remove(entry.key, entry.version);
        log.info({ attempts: entry.attempts + 1 }, "kept GitHub write delivered");
        return "done";
      }
      const failure = retryableFailure(error, this.now());
      const attempts = entry.attempts + 1;
      const expired = this.now() - Date.parse(entry.createdAt) >= this.maxAgeMs;
      if (!failure.retryable || expired) {
        this.store.remove(entry.key, entry.version);
        log.error(
          { attempts, status: failure.status, reason: failure.summary, since: entry.createdAt },
          "kept GitHub write given up; GitHub may still show an older state",
        );
        return "done";
      }
      const nextAttemptAt = this.nextAttempt(attempts, failure.retryAfterMs);
      this.store.reschedule(entry.key, entry.version, {
        requests: left,
        attempts,
        nextAttemptAt,
        lastError: failure.summary,
      });
      log.warn({ attempts, status: failure.status, nextAttemptAt }, "kept GitHub write failed again; retrying later");
      return "still failing";
    });
  }

  private nextAttempt(attempts: number, retryAfterMs: number | undefined): string {
    const backoff = this.retryDelaysMs[Math.min(attempts, this.retryDelaysMs.length) - 1] ?? 0;
    return new Date(this.now() + Math.max(backoff, retryAfterMs ?? 0)).toISOString();
  }

  /** Runs `job` after the jobs of the same key queued before it (writes of one key never overtake each other). */
  private async locked<T>(key: string, job: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(job);
    this.locks.set(key, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(key) === next) this.locks.delete(key);
    }
  }
}

/** Sends `requests` in order; on the first failure, the error and the requests not yet sent (the failed one first). */
async function sendAll(
  octokit: Octokit,
  requests: OutboxRequest[],
): Promise<{ error?: unknown; left: OutboxRequest[] }> {
  for (let i = 0; i < requests.length; i++) {
    const { route, params } = requests[i]!;
    try {
      await octokit.request(route, params);
    } catch (error) {
      return { error, left: requests.slice(i) };
    }
  }
  return { left: [] };
}
