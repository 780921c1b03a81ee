import { EventEmitter } from "node:events";
import { accessSync, constants, mkdirSync, rmSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { isBuildId } from "./build-id.js";
import { buildDataDirs, isStepName, logDir, logPath } from "./build-files.js";
import { BUILD_STATES, UNFINISHED_STATES, type BuildRecord, type BuildState } from "./build-record.js";
import {
  fromRows,
  toRows,
  type BuildRow,
  type BuildRows,
  type DiagnosticRow,
  type StepRow,
  type TestRow,
} from "./build-rows.js";
import { openDatabase } from "./open-database.js";
import { readLogRange, type LogChunk, type LogRange } from "./read-log-range.js";
import { statementCache } from "./statement-cache.js";
import { openStepLog, type StepLog } from "./step-log.js";

export { isBuildId, newBuildId } from "./build-id.js";
export type { BuildRecord, BuildState } from "./build-record.js";
export type { LogChunk, LogRange } from "./read-log-range.js";

/** The database's file name in CI_DATA_DIR (with its -wal and -shm companions). */
export const DATABASE_FILE = "pyci.db";

/** How often startRetention prunes, after once at start. */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

const DAY_MS = 24 * 60 * 60 * 1000;
const MAX_LIST = 500;

/** What subscribers of a build hear: each stored (masked) piece of a step's log, and each save. */
export type BuildEvent = { type: "log"; step: string; text: string } | { type: "build"; record: BuildRecord };

/** What accept() did with a delivery; `record` is the build it started or joined. */
export interface Accepted {
  outcome: "created" | "joined" | "duplicate";
  record: BuildRecord;
}

export interface ListQuery {
  owner?: string;
  repo?: string;
  branch?: string;
  state?: BuildState;
  /** At most this many, newest first: default 50, at most 500. */
  limit?: number;
  /** Cursor: only builds created before this createdAt (the last one of the previous page). */
  before?: string;
  /** With `before`, the previous page's last id: builds created in the same millisecond are neither skipped nor repeated. */
  beforeId?: string;
}

export interface LatestQuery {
  owner: string;
  repo: string;
  /** Any branch when absent. */
  branch?: string;
  pipeline?: string;
  /** Only builds with a result (not queued or running); default true. */
  finishedOnly?: boolean;
}

/** Either or both; a finished build matching either is removed. Unfinished builds are never removed. */
export interface RetentionPolicy {
  /** Remove finished builds created more than this many days ago. */
  olderThanDays?: number;
  /** Keep only the newest this-many builds (unfinished ones count, and are kept regardless). */
  keepBuilds?: number;
}

/** The part of Probot's (pino's) logger the store uses. */
export interface StoreLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BuildStoreOptions {
  /** Prune with this policy at open and then every hour (see startRetention). */
  retention?: RetentionPolicy;
  /** Where retention reports what it removed and what it could not. */
  log?: StoreLog;
}

/**
 * Builds in SQLite (CI_DATA_DIR/pyci.db, schema in ./migrations), their step
 * logs as files beside it (CI_DATA_DIR/logs/<id>/<step>.log, each capped at
 * STEP_LOG_CAP_BYTES), and live events for pages watching a build.
 * Every method is synchronous except those that read log files.
 */
export class BuildStore {
  readonly dataDir: string;
  private readonly db: Database.Database;
  private readonly events = new EventEmitter();
  private readonly log: StoreLog | undefined;
  private readonly statement: (sql: string) => Database.Statement;
  private readonly writeRows: (rows: BuildRows, insert: boolean) => void;
  private readonly acceptRows: Database.Transaction<(record: BuildRecord, deliveryId: string) => Accepted>;
  private stopRetention: (() => void) | undefined;

  constructor(dataDir: string, options: BuildStoreOptions = {}) {
    this.dataDir = dataDir;
    this.log = options.log;
    mkdirSync(join(dataDir, "logs"), { recursive: true, mode: 0o700 });
    this.db = openDatabase(join(dataDir, DATABASE_FILE));
    this.statement = statementCache(this.db);
    this.events.setMaxListeners(0);
    this.writeRows = this.db.transaction((rows: BuildRows, insert: boolean) => {
      this.statement(insert ? INSERT_BUILD : UPSERT_BUILD).run(rows.build);
      this.statement("DELETE FROM steps WHERE build_id = ?").run(rows.build.id);
      for (const step of rows.steps) this.statement(INSERT_STEP).run(step);
      for (const test of rows.tests) this.statement(INSERT_TEST).run(test);
      for (const diagnostic of rows.diagnostics) this.statement(INSERT_DIAGNOSTIC).run(diagnostic);
    });
    this.acceptRows = this.db.transaction((record: BuildRecord, deliveryId: string) =>
      this.acceptOrJoin(record, deliveryId),
    );
    if (options.retention) this.startRetention(options.retention);
  }

  /** Records a new build; throws if its id is taken. */
  create(record: BuildRecord): BuildRecord {
    this.write(record, true);
    return record;
  }

  /**
   * Records a delivery and the build it asks for, in one transaction (two
   * processes sharing the database cannot both start it):
   * - "duplicate": the delivery id was accepted before (GitHub's redelivery
   *   keeps the id); nothing is written, the earlier build is returned;
   * - "joined": a build of the same commit and pipeline is queued or running;
   *   the delivery is recorded against it, no new build;
   * - "created": `record` is stored with its delivery.
   */
  accept(record: BuildRecord, deliveryId: string): Accepted {
    return this.acceptRows.immediate(record, deliveryId);
  }

  private acceptOrJoin(record: BuildRecord, deliveryId: string): Accepted {
    const seen = this.statement("SELECT build_id FROM deliveries WHERE delivery_id = ?").get(deliveryId) as
      | { build_id: string }
      | undefined;
    const earlier = seen && this.get(seen.build_id);
    if (earlier) return { outcome: "duplicate", record: earlier };
    const active = this.statement(
      `SELECT id FROM builds WHERE owner = ? AND repo = ? AND sha = ? AND pipeline = ? AND state IN (${UNFINISHED_SQL}) ORDER BY ${BY_AGE_SORTED} LIMIT 1`,
    ).get(record.owner, record.repo, record.sha, record.pipeline) as { id: string } | undefined;
    const joined = active && this.get(active.id);
    if (!joined) this.write(record, true);
    const build = joined ?? record;
    this.statement("INSERT OR REPLACE INTO deliveries (delivery_id, build_id, received_at) VALUES (?, ?, ?)").run(
      deliveryId,
      build.id,
      new Date().toISOString(),
    );
    return { outcome: joined ? "joined" : "created", record: build };
  }

  /** The queued and running builds of a pull request's pipeline, oldest first (summary steps): what a new push supersedes. */
  activeForPullRequest(owner: string, repo: string, prNumber: number, pipeline: string): BuildRecord[] {
    const rows = this.statement(
      `SELECT * FROM builds WHERE owner = ? AND repo = ? AND pr_number = ? AND pipeline = ? AND state IN (${UNFINISHED_SQL}) ORDER BY ${BY_AGE_SORTED}`,
    ).all(owner, repo, prNumber, pipeline) as BuildRow[];
    return this.assemble(rows, false);
  }

  /** Stores the build as it is now (steps, tests and diagnostics replaced), and tells its subscribers. */
  save(record: BuildRecord): void {
    this.write(record, false);
  }

  /** The whole build: every step with its tests and diagnostics. */
  get(id: string): BuildRecord | undefined {
    if (!isBuildId(id)) return undefined;
    const row = this.statement("SELECT * FROM builds WHERE id = ?").get(id) as BuildRow | undefined;
    return row && this.assemble([row], true)[0];
  }

  /**
   * Builds, newest first (createdAt, then id). Steps are summaries: name,
   * state, summary, exit code, duration, testCounts, counts, enforced, python
   * and artifacts, but no `tests` or `diagnostics` lists (get(id) has them).
   */
  list(query: ListQuery = {}): BuildRecord[] {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    for (const key of ["owner", "repo", "branch", "state"] as const) {
      const value = query[key];
      if (value === undefined) continue;
      where.push(`${key} = @${key}`);
      params[key] = value;
    }
    if (query.before !== undefined) {
      params.before = query.before;
      if (query.beforeId !== undefined) params.beforeId = query.beforeId;
      where.push(query.beforeId !== undefined ? "(created_at, id) < (@before, @beforeId)" : "created_at < @before");
    }
    params.limit = Math.min(Math.max(Math.trunc(query.limit ?? 50), 1), MAX_LIST);
    const sql = `SELECT * FROM builds ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY created_at DESC, id DESC LIMIT @limit`;
    return this.assemble(this.statement(sql).all(params) as BuildRow[], false);
  }

  /** The newest build of a repository (on a branch), with summary steps as in list(): for badges. */
  latest(query: LatestQuery): BuildRecord | undefined {
    const where = ["owner = @owner", "repo = @repo"];
    const params: Record<string, string> = { owner: query.owner, repo: query.repo };
    if (query.branch !== undefined) {
      where.push("branch = @branch");
      params.branch = query.branch;
    }
    if (query.pipeline !== undefined) {
      where.push("pipeline = @pipeline");
      params.pipeline = query.pipeline;
    }
    if (query.finishedOnly ?? true) where.push(`state NOT IN (${UNFINISHED_SQL})`);
    const sql = `SELECT * FROM builds WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT 1`;
    const row = this.statement(sql).get(params) as BuildRow | undefined;
    return row && this.assemble([row], false)[0];
  }

  /** Builds queued or running, oldest first, whole (as get): what a restart must re-queue or settle. */
  unfinished(): BuildRecord[] {
    const rows = this.statement(
      `SELECT * FROM builds WHERE state IN (${UNFINISHED_SQL}) ORDER BY created_at, id`,
    ).all() as BuildRow[];
    return this.assemble(rows, true);
  }

  /** How many builds are in each state (every state present, 0 when none): for metrics. */
  counts(): Record<BuildState, number> {
    const counts = Object.fromEntries(BUILD_STATES.map((s) => [s, 0])) as Record<BuildState, number>;
    const rows = this.statement("SELECT state, count(*) AS n FROM builds GROUP BY state").all() as {
      state: BuildState;
      n: number;
    }[];
    for (const { state, n } of rows) counts[state] = n;
    return counts;
  }

  /** True while the database answers a query and the log directory is writable: for /healthz. */
  healthy(): boolean {
    try {
      accessSync(join(this.dataDir, "logs"), constants.W_OK);
      return (this.statement("SELECT 1 AS ok").get() as { ok: number }).ok === 1;
    } catch {
      return false;
    }
  }

  /**
   * A step's log file for writing; what it stores (masked, within the cap)
   * also goes to `listener` and to the build's subscribers.
   */
  openLog(
    id: string,
    step: string,
    mask: (text: string) => string,
    listener?: (text: string) => void,
    capBytes?: number,
  ): StepLog {
    const path = logPath(this.dataDir, id, step);
    mkdirSync(logDir(this.dataDir, id), { recursive: true, mode: 0o700 });
    return openStepLog(
      path,
      mask,
      (text) => {
        listener?.(text);
        this.events.emit(id, { type: "log", step, text } satisfies BuildEvent);
      },
      capBytes,
    );
  }

  /** Removes every step log of a build (before it runs again). */
  removeLogs(id: string): void {
    if (!isBuildId(id)) return;
    rmSync(logDir(this.dataDir, id), { recursive: true, force: true });
  }

  /** The whole stored log of a step, or undefined when it has none. */
  async readLog(id: string, step: string): Promise<string | undefined> {
    if (!isBuildId(id) || !isStepName(step)) return undefined;
    try {
      return await readFile(logPath(this.dataDir, id, step), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Bytes [start, end) of a step's log (e.g. `{ start: -65536 }` for its tail) and its whole size; see LogChunk. */
  async readLogRange(id: string, step: string, range: LogRange = {}): Promise<LogChunk | undefined> {
    if (!isBuildId(id) || !isStepName(step)) return undefined;
    return readLogRange(logPath(this.dataDir, id, step), range);
  }

  /** A step's log size in bytes, or undefined when it has none. */
  async logSize(id: string, step: string): Promise<number | undefined> {
    if (!isBuildId(id) || !isStepName(step)) return undefined;
    try {
      return (await stat(logPath(this.dataDir, id, step))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** The steps that have a log, by name, with their sizes. */
  async logSteps(id: string): Promise<{ step: string; size: number }[]> {
    if (!isBuildId(id)) return [];
    let names: string[];
    try {
      names = await readdir(logDir(this.dataDir, id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const steps = names
      .filter((n) => n.endsWith(".log") && isStepName(n.slice(0, -4)))
      .map((n) => n.slice(0, -4))
      .sort();
    return Promise.all(steps.map(async (step) => ({ step, size: (await stat(logPath(this.dataDir, id, step))).size })));
  }

  /**
   * Calls `listener` for every log write and every save of the build, in this
   * process, until the returned function is called. A listener that throws
   * is logged and does not disturb the build.
   */
  subscribe(id: string, listener: (event: BuildEvent) => void): () => void {
    const guarded = (event: BuildEvent) => {
      try {
        listener(event);
      } catch (error) {
        this.log?.error({ err: error, buildId: id }, "a build subscriber failed");
      }
    };
    this.events.on(id, guarded);
    return () => this.events.off(id, guarded);
  }

  /**
   * Removes the finished builds the policy no longer keeps: their rows (with
   * steps, tests, diagnostics) and their files (logs, artifacts). A build
   * whose files cannot be removed keeps its row, to be tried again.
   * Returns how many builds were removed.
   */
  prune(policy: RetentionPolicy): number {
    const doomed: string[] = [];
    const params: Record<string, string | number> = {};
    if (policy.olderThanDays !== undefined) {
      positive("olderThanDays", policy.olderThanDays);
      params.cutoff = new Date(Date.now() - policy.olderThanDays * DAY_MS).toISOString();
      doomed.push("created_at < @cutoff");
    }
    if (policy.keepBuilds !== undefined) {
      positive("keepBuilds", policy.keepBuilds);
      params.keep = policy.keepBuilds;
      doomed.push("id NOT IN (SELECT id FROM builds ORDER BY created_at DESC, id DESC LIMIT @keep)");
    }
    if (doomed.length === 0) return 0;
    const sql = `SELECT id FROM builds WHERE state NOT IN (${UNFINISHED_SQL}) AND (${doomed.join(" OR ")})`;
    const ids = (this.statement(sql).all(params) as { id: string }[]).map((r) => r.id);
    let removed = 0;
    for (const id of ids) {
      try {
        for (const dir of buildDataDirs(this.dataDir, id)) rmSync(dir, { recursive: true, force: true });
      } catch (error) {
        this.log?.error(
          { err: error, buildId: id },
          "could not remove an old build's files; it is kept until the next pruning",
        );
        continue;
      }
      removed += this.statement("DELETE FROM builds WHERE id = ?").run(id).changes;
    }
    return removed;
  }

  /**
   * Prunes now and then every RETENTION_INTERVAL_MS (an unref'd timer: it
   * never keeps the process alive) until the returned function or close() is
   * called. Defaults come from the configuration: CI_RETENTION_DAYS (90) and
   * CI_RETENTION_BUILDS (10000).
   */
  startRetention(policy: RetentionPolicy, intervalMs = RETENTION_INTERVAL_MS): () => void {
    this.stopRetention?.();
    const run = () => {
      try {
        const removed = this.prune(policy);
        if (removed > 0) this.log?.info({ removed, ...policy }, "removed old builds");
      } catch (error) {
        this.log?.error({ err: error }, "could not prune old builds");
      }
    };
    run();
    const timer = setInterval(run, intervalMs).unref();
    const stop = () => {
      clearInterval(timer);
      if (this.stopRetention === stop) this.stopRetention = undefined;
    };
    this.stopRetention = stop;
    return stop;
  }

  /** Stops retention and closes the database; the store is unusable afterwards. */
  close(): void {
    this.stopRetention?.();
    this.events.removeAllListeners();
    this.db.close();
  }

  private write(record: BuildRecord, insert: boolean): void {
    if (!isBuildId(record.id)) throw new Error(`Not a build id: ${JSON.stringify(record.id)}`);
    this.writeRows(toRows(record), insert);
    if (this.events.listenerCount(record.id) > 0) {
      this.events.emit(record.id, { type: "build", record: structuredClone(record) } satisfies BuildEvent);
    }
  }

  /** Records from build rows, with their steps (and, with `detail`, tests and diagnostics), read in one snapshot. */
  private assemble(builds: BuildRow[], detail: boolean): BuildRecord[] {
    if (builds.length === 0) return [];
    const ids = JSON.stringify(builds.map((b) => b.id));
    const read = this.db.transaction(() => ({
      steps: byBuild(
        this.statement(`SELECT * FROM steps WHERE build_id IN ${IDS} ORDER BY build_id, position`).all(
          ids,
        ) as StepRow[],
      ),
      tests: detail
        ? byBuild(
            this.statement(`SELECT * FROM test_results WHERE build_id IN ${IDS} ORDER BY build_id, step, position`).all(
              ids,
            ) as TestRow[],
          )
        : new Map<string, TestRow[]>(),
      diagnostics: detail
        ? byBuild(
            this.statement(`SELECT * FROM diagnostics WHERE build_id IN ${IDS} ORDER BY build_id, step, position`).all(
              ids,
            ) as DiagnosticRow[],
          )
        : new Map<string, DiagnosticRow[]>(),
    }));
    const { steps, tests, diagnostics } = read();
    return builds.map((build) =>
      fromRows(
        {
          build,
          steps: steps.get(build.id) ?? [],
          tests: tests.get(build.id) ?? [],
          diagnostics: diagnostics.get(build.id) ?? [],
        },
        detail,
      ),
    );
  }
}

const UNFINISHED_SQL = UNFINISHED_STATES.map((s) => `'${s}'`).join(", ");
/**
 * Oldest first, for the few unfinished builds of a commit or pull request: sorted after the lookup
 * (the unary `+` keeps SQLite from reading them in builds_by_repo's order instead, which walks every
 * build the repository ever had: ~1 ms per delivery with 10,000 kept, growing with the history).
 */
const BY_AGE_SORTED = "+created_at, +id";
/** The build ids of a query, passed as one JSON array parameter. */
const IDS = "(SELECT value FROM json_each(?))";

const BUILD_COLUMNS = [
  "id",
  "owner",
  "repo",
  "sha",
  "event",
  "pipeline",
  "delivery_id",
  "pr_number",
  "pr_title",
  "pr_url",
  "branch",
  "state",
  "error",
  "created_at",
  "started_at",
  "finished_at",
  "check_run_id",
  "request_json",
  "attempts",
] as const;
const INSERT_BUILD = insert("builds", BUILD_COLUMNS);
const UPSERT_BUILD = `${INSERT_BUILD} ON CONFLICT (id) DO UPDATE SET ${BUILD_COLUMNS.filter((c) => c !== "id")
  .map((c) => `${c} = excluded.${c}`)
  .join(", ")}`;
const INSERT_STEP = insert("steps", [
  "build_id",
  "position",
  "name",
  "state",
  "summary",
  "exit_code",
  "duration_ms",
  "enforced",
  "python",
  "test_count",
  "diagnostic_count",
  "test_counts_json",
  "counts_json",
  "artifacts_json",
  "reused_json",
]);
const INSERT_TEST = insert("test_results", [
  "build_id",
  "step",
  "position",
  "test_id",
  "subtest",
  "module",
  "outcome",
  "duration_ms",
  "message",
  "traceback",
  "file",
  "line",
]);
const INSERT_DIAGNOSTIC = insert("diagnostics", [
  "build_id",
  "step",
  "position",
  "file",
  "line",
  "column",
  "end_line",
  "end_column",
  "severity",
  "rule",
  "message",
  "syntax",
  "follow_on",
]);

function insert(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})`;
}

function byBuild<T extends { build_id: string }>(rows: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(row.build_id);
    if (list) list.push(row);
    else map.set(row.build_id, [row]);
  }
  return map;
}

function positive(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Retention ${name} must be a whole number of at least 1, not ${value}`);
}
