import { randomUUID } from "node:crypto";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { DATABASE_FILE } from "./build-store.js";
import { openDatabase } from "./open-database.js";
import { statementCache } from "./statement-cache.js";

/** One request as Octokit's `request(route, params)` takes it: `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`. */
export interface OutboxRequest {
  route: string;
  params: Record<string, unknown>;
}

export type OutboxKind = "status" | "check-run";

export interface OutboxEntry {
  /** What the write sets: one status context of a commit, or one check run. */
  key: string;
  kind: OutboxKind;
  installationId?: number;
  /** Still to send, in order. */
  requests: OutboxRequest[];
  /** Changes whenever the row is replaced by a newer write. */
  version: string;
  /** Failed attempts so far. */
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  lastError?: string;
}

interface OutboxRow {
  key: string;
  kind: OutboxKind;
  installation_id: number | null;
  requests_json: string;
  version: string;
  attempts: number;
  created_at: string;
  next_attempt_at: string;
  last_error: string | null;
}

/**
 * The outbox table (schema v4) in CI_DATA_DIR/pyci.db, on a connection of its
 * own. Keyed by what a write sets: `put` replaces an older write of the same
 * key; removing or rescheduling names the version it read, so that a row a
 * newer write replaced in between is left alone.
 */
export class OutboxStore {
  private readonly db: Database.Database;
  /** Prepared once each: every GitHub write puts and removes a row. */
  private readonly statement: (sql: string) => Database.Statement;

  constructor(dataDir: string) {
    this.db = openDatabase(join(dataDir, DATABASE_FILE));
    this.statement = statementCache(this.db);
  }

  /** Keeps `entry` as the one pending write of its key (replacing any older one); returns it with its new version. */
  put(entry: Omit<OutboxEntry, "version">): OutboxEntry {
    const kept = { ...entry, version: randomUUID() };
    this.statement(
      `INSERT OR REPLACE INTO github_outbox (key, kind, installation_id, requests_json, version, attempts, created_at, next_attempt_at, last_error)
       VALUES (@key, @kind, @installation_id, @requests_json, @version, @attempts, @created_at, @next_attempt_at, @last_error)`,
    ).run(toRow(kept));
    return kept;
  }

  get(key: string): OutboxEntry | undefined {
    const row = this.statement("SELECT * FROM github_outbox WHERE key = ?").get(key) as OutboxRow | undefined;
    return row && fromRow(row);
  }

  /** Removes the pending write of `key` (only if it is still `version`, when given); whether one was removed. */
  remove(key: string, version?: string): boolean {
    const result =
      version === undefined
        ? this.statement("DELETE FROM github_outbox WHERE key = ?").run(key)
        : this.statement("DELETE FROM github_outbox WHERE key = ? AND version = ?").run(key, version);
    return result.changes > 0;
  }

  /** After a failed attempt: what is left to send, and when to try again (only if the row is still `version`). */
  reschedule(
    key: string,
    version: string,
    update: { requests: OutboxRequest[]; attempts: number; nextAttemptAt: string; lastError: string },
  ): void {
    this.statement(
      "UPDATE github_outbox SET requests_json = ?, attempts = ?, next_attempt_at = ?, last_error = ? WHERE key = ? AND version = ?",
    ).run(JSON.stringify(update.requests), update.attempts, update.nextAttemptAt, update.lastError, key, version);
  }

  /** Writes whose next attempt is due at `now`, the longest-waiting first. */
  due(now: Date, limit = 100): OutboxEntry[] {
    const rows = this.statement(
      "SELECT * FROM github_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, key LIMIT ?",
    ).all(now.toISOString(), limit) as OutboxRow[];
    return rows.map(fromRow);
  }

  /** When the earliest pending write is due, if there is one. */
  nextDue(): Date | undefined {
    const row = this.statement("SELECT min(next_attempt_at) AS at FROM github_outbox").get() as { at: string | null };
    return row.at === null ? undefined : new Date(row.at);
  }

  size(): number {
    return (this.statement("SELECT count(*) AS n FROM github_outbox").get() as { n: number }).n;
  }

  close(): void {
    this.db.close();
  }
}

function toRow(entry: OutboxEntry): OutboxRow {
  return {
    key: entry.key,
    kind: entry.kind,
    installation_id: entry.installationId ?? null,
    requests_json: JSON.stringify(entry.requests),
    version: entry.version,
    attempts: entry.attempts,
    created_at: entry.createdAt,
    next_attempt_at: entry.nextAttemptAt,
    last_error: entry.lastError ?? null,
  };
}

function fromRow(row: OutboxRow): OutboxEntry {
  return {
    key: row.key,
    kind: row.kind,
    ...(row.installation_id !== null ? { installationId: row.installation_id } : {}),
    requests: JSON.parse(row.requests_json) as OutboxRequest[],
    version: row.version,
    attempts: row.attempts,
    createdAt: row.created_at,
    nextAttemptAt: row.next_attempt_at,
    ...(row.last_error !== null ? { lastError: row.last_error } : {}),
  };
}
