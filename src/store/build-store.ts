import { EventEmitter } from "node:events";
import { accessSync, constants, mkdirSync } from "node:fs";
import { join } from "node:path";
import type Database from "better-sqlite3";
import { isBuildId } from "./build-id.js";
import { logDir, logPath } from "./build-files.js";
import { BUILD_STATES, type BuildRecord, type BuildState } from "./build-record.js";
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
import type {
  Accepted,
  BuildEvent,
  BuildStoreOptions,
  LatestQuery,
  ListQuery,
  RetentionPolicy,
  StoreLog,
} from "./store-types.js";
import type { LogChunk, LogRange } from "./read-log-range.js";
import { statementCache } from "./statement-cache.js";
import { pruneBuilds } from "./prune-builds.js";
import {
  readStepLog,
  readStepLogRange,
  removeStepLog,
  removeStepLogs,
  stepLogSize,
  stepLogSizes,
} from "./step-log-files.js";
import {
  BY_AGE_SORTED,
  IDS,
  INSERT_BUILD,
  INSERT_DIAGNOSTIC,
  INSERT_STEP,
  INSERT_TEST,
  latestSql,
  listSql,
  TEST_DURATIONS,
  UNFINISHED_SQL,
  UPSERT_BUILD,
} from "./build-sql.js";
import { openStepLog, type StepLog } from "./step-log.js";

export { isBuildId, newBuildId } from "./build-id.js";
export type { BuildRecord, BuildState } from "./build-record.js";
export type { LogChunk, LogRange } from "./read-log-range.js";
export type * from "./store-types.js";

/** The database's file name in CI_DATA_DIR (with its -wal and -shm companions). */
export const DATABASE_FILE = "pyci.db";

/** How often startRetention prunes, after once at start. */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Builds in SQLite (CI_DATA_DIR/pyci.db, schema in ./migrations), their step
 * logs as files beside it (CI_DATA_DIR/logs/<id>/<step>.log, each capped at
 * STEP_LOG_CAP_BYTES), and live events for pages watching a build.
 * Every method is synchronous except those that read log files.
 * It is one class because it is the one way into pyci.db; each method is one
 * query or one transaction, its longer SQL is in build-sql.ts, the log files
 * in step-log-files.ts, retention in prune-builds.ts.
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
    const { sql, params } = listSql(query);
    return this.assemble(this.statement(sql).all(params) as BuildRow[], false);
  }

  /** The newest build of a repository (on a branch), with summary steps as in list(): for badges. */
  latest(query: LatestQuery): BuildRecord | undefined {
    const { sql, params } = latestSql(query);
    const row = this.statement(sql).get(params) as BuildRow | undefined;
    return row && this.assemble([row], false)[0];
  }

  /** Each test's duration (ms by unittest id) in the repository's newest build with tests: what balances a parallel run. */
  testDurations(owner: string, repo: string): Map<string, number> {
    const rows = this.statement(TEST_DURATIONS).all({ owner, repo }) as { id: string; ms: number }[];
    return new Map(rows.map((row) => [row.id, row.ms]));
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
    removeStepLogs(this.dataDir, id);
  }

  /** Removes one step's log (it will be written again from its start). */
  removeLog(id: string, step: string): void {
    removeStepLog(this.dataDir, id, step);
  }

  /** The whole stored log of a step, or undefined when it has none. */
  readLog(id: string, step: string): Promise<string | undefined> {
    return readStepLog(this.dataDir, id, step);
  }

  /** Bytes [start, end) of a step's log (e.g. `{ start: -65536 }` for its tail) and its whole size; see LogChunk. */
  readLogRange(id: string, step: string, range: LogRange = {}): Promise<LogChunk | undefined> {
    return readStepLogRange(this.dataDir, id, step, range);
  }

  /** A step's log size in bytes, or undefined when it has none. */
  logSize(id: string, step: string): Promise<number | undefined> {
    return stepLogSize(this.dataDir, id, step);
  }

  /** The steps that have a log, by name, with their sizes. */
  logSteps(id: string): Promise<{ step: string; size: number }[]> {
    return stepLogSizes(this.dataDir, id);
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

  /** Removes the finished builds the policy no longer keeps, rows and files (prune-builds.ts); returns how many. */
  prune(policy: RetentionPolicy): number {
    return pruneBuilds(this.statement, this.dataDir, policy, this.log);
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

function byBuild<T extends { build_id: string }>(rows: T[]): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const row of rows) {
    const list = map.get(row.build_id);
    if (list) list.push(row);
    else map.set(row.build_id, [row]);
  }
  return map;
}
