/**
 * The part of better-sqlite3's API that pyci's store uses, over Node's built-in
 * `node:sqlite` (DatabaseSync: Node 22.13 or later, no flag). The GitHub Actions
 * bundle (scripts/bundle-action.js) puts it in place of better-sqlite3, a native
 * addon that would have to be compiled in every job; the server keeps better-sqlite3.
 * Covered: `new Database(path, { timeout })`, `name`, `prepare` → `run`/`get`/`all`
 * (positional or named parameters, as better-sqlite3 binds them), `exec`,
 * `pragma(sql, { simple })`, `transaction(fn)` with `.immediate`/`.deferred`/`.exclusive`
 * (nested calls become savepoints), `close`. Anything else is absent on purpose.
 */

type Value = null | number | bigint | string | Uint8Array;
type Params = unknown[];

/** What pyci needs of node:sqlite's StatementSync (@types/node 20 does not describe node:sqlite). */
interface StatementSync {
  run(...params: Params): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: Params): Record<string, Value> | undefined;
  all(...params: Params): Record<string, Value>[];
  setAllowUnknownNamedParameters?(allow: boolean): void;
}

interface DatabaseSync {
  prepare(sql: string): StatementSync;
  exec(sql: string): void;
  close(): void;
}

type DatabaseSyncClass = new (path: string, options?: { timeout?: number }) => DatabaseSync;

function databaseSync(): DatabaseSyncClass {
  const sqlite = process.getBuiltinModule?.("node:sqlite") as { DatabaseSync?: DatabaseSyncClass } | undefined;
  if (!sqlite?.DatabaseSync) {
    throw new Error(
      `pyci's GitHub Action needs Node.js 22.13 or later (node:sqlite); this is ${process.version}. Leave the action's node-version input at its default.`,
    );
  }
  return sqlite.DatabaseSync;
}

/** A prepared statement, binding parameters as better-sqlite3 does (extra named keys are ignored). */
export class Statement {
  constructor(private readonly statement: StatementSync) {
    statement.setAllowUnknownNamedParameters?.(true);
  }

  run(...params: Params): { changes: number; lastInsertRowid: number | bigint } {
    const result = this.statement.run(...params);
    return { changes: Number(result.changes), lastInsertRowid: result.lastInsertRowid };
  }

  get(...params: Params): unknown {
    return this.statement.get(...params);
  }

  all(...params: Params): unknown[] {
    return this.statement.all(...params);
  }
}

type Mode = "DEFERRED" | "IMMEDIATE" | "EXCLUSIVE";

/** `fn` in a transaction, as better-sqlite3's transaction() returns it. */
export type Transaction<F extends (...args: never[]) => unknown> = F & {
  deferred: F;
  immediate: F;
  exclusive: F;
};

export default class Database {
  readonly name: string;
  private readonly db: DatabaseSync;
  private depth = 0;

  constructor(path: string, options: { timeout?: number } = {}) {
    const DatabaseSync = databaseSync();
    this.name = path;
    this.db = new DatabaseSync(path, options.timeout !== undefined ? { timeout: options.timeout } : {});
  }

  prepare(sql: string): Statement {
    return new Statement(this.db.prepare(sql));
  }

  exec(sql: string): this {
    this.db.exec(sql);
    return this;
  }

  /** `pragma("x = 1")`; `pragma("x", { simple: true })` is the first column of the first row. */
  pragma(source: string, options: { simple?: boolean } = {}): unknown {
    const rows = this.db.prepare(`PRAGMA ${source}`).all();
    if (!options.simple) return rows;
    const first = rows[0];
    return first ? Object.values(first)[0] : undefined;
  }

  transaction<F extends (...args: never[]) => unknown>(fn: F): Transaction<F> {
    const inMode = (mode: Mode) =>
      ((...args: Parameters<F>) => this.inTransaction(mode, () => fn(...args))) as unknown as F;
    return Object.assign(inMode("DEFERRED"), {
      deferred: inMode("DEFERRED"),
      immediate: inMode("IMMEDIATE"),
      exclusive: inMode("EXCLUSIVE"),
    });
  }

  close(): void {
    this.db.close();
  }

  /** BEGIN … COMMIT, or a savepoint inside an open transaction; rolled back when `fn` throws. */
  private inTransaction<T>(mode: Mode, fn: () => T): T {
    const outer = this.depth;
    const savepoint = outer > 0 ? `pyci_${outer}` : undefined;
    this.db.exec(savepoint ? `SAVEPOINT ${savepoint}` : `BEGIN ${mode}`);
    this.depth = outer + 1;
    try {
      const result = fn();
      this.depth = outer;
      this.db.exec(savepoint ? `RELEASE ${savepoint}` : "COMMIT");
      return result;
    } catch (error) {
      // fn threw, or the COMMIT (a busy database) failed: nothing of it stays
      this.depth = outer;
      this.db.exec(savepoint ? `ROLLBACK TO ${savepoint}; RELEASE ${savepoint}` : "ROLLBACK");
      throw error;
    }
  }
}
