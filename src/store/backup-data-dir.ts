import { chmodSync, existsSync, statSync } from "node:fs";
import { mkdtemp, rename, rm } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import Database from "better-sqlite3";
import { DATABASE_FILE } from "./build-store.js";
import { copyTree } from "./copy-tree.js";
import { BUSY_TIMEOUT_MS } from "./open-database.js";

/** What CI_DATA_DIR holds besides the database that a restore needs; the caches (git-cache/, results/) and ssh/ are rebuilt. */
const KEPT_DIRS = ["logs", "artifacts"] as const;
/** SQLite's backup copies this many pages per step: all of them, so the copy is one read transaction. */
const ALL_PAGES = 0x7fffffff;

/** A refusal or failure `pyci backup` reports as it is (exit 1). */
export class BackupError extends Error {}

export interface BackupSummary {
  /** Builds in the copied database, and its schema version (PRAGMA user_version). */
  builds: number;
  schema: number;
  /** Files copied from logs/ and artifacts/, and the bytes of everything written. */
  files: number;
  bytes: number;
}

/**
 * A backup of `dataDir` into the new directory `target`, taken while the server runs:
 * 1. refusals: no database, a user other than its owner (SQLite would leave its -wal and -shm
 *    files to that user, and the server could not open them), `target` there without `force`;
 * 2. pyci.db by SQLite's online backup in one step (a consistent snapshot; in WAL mode the
 *    server's writes are not held up), checked with `PRAGMA quick_check`;
 * 3. logs/ and artifacts/ after it, so every build finished in the copy has its logs whole;
 * 4. all of it written to a temporary directory beside `target`, renamed to `target` at the
 *    end (with `force`, an existing `target` is replaced only then).
 */
export async function backupDataDir(
  dataDir: string,
  target: string,
  options: { force?: boolean } = {},
): Promise<BackupSummary> {
  // 1.
  const database = join(dataDir, DATABASE_FILE);
  if (!existsSync(database))
    throw new BackupError(
      `No database at ${database}: is CI_DATA_DIR the one pyci serve uses? (read from .env in this directory, then the environment)`,
    );
  const owner = statSync(database).uid;
  if (process.getuid && process.getuid() !== owner)
    throw new BackupError(
      `${database} belongs to uid ${owner}: run pyci backup as that user (the one pyci serve runs as), e.g. sudo -u pyci pyci backup …`,
    );
  const destination = resolve(target);
  if (existsSync(destination) && !options.force)
    throw new BackupError(`${destination} exists: give a new name, or --force to replace it`);
  const partial = await mkdtemp(join(dirname(destination), `.${basename(destination)}.partial-`)).catch(
    (error: unknown) => {
      throw new BackupError(`Cannot write the backup in ${dirname(destination)}: ${(error as Error).message}`);
    },
  );
  try {
    // 2.
    const copy = join(partial, DATABASE_FILE);
    const source = new Database(database, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    try {
      await source.backup(copy, { progress: () => ALL_PAGES });
    } finally {
      source.close();
    }
    chmodSync(copy, 0o600);
    const { builds, schema } = checkCopy(copy);
    // 3.
    let files = 0;
    let bytes = statSync(copy).size;
    for (const dir of KEPT_DIRS) {
      const copied = await copyTree(join(dataDir, dir), join(partial, dir));
      files += copied.files;
      bytes += copied.bytes;
    }
    // 4.
    await replace(destination, partial, options.force === true);
    return { builds, schema, files, bytes };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    if (error instanceof BackupError) throw error;
    throw new BackupError(`Could not back up ${dataDir} to ${destination}: ${(error as Error).message}`);
  }
}

/** The copy's schema version and builds, once SQLite finds it sound. */
function checkCopy(path: string): { builds: number; schema: number } {
  const db = new Database(path, { fileMustExist: true });
  try {
    const check = db.pragma("quick_check", { simple: true });
    if (check !== "ok") throw new BackupError(`The copy of the database is damaged (quick_check: ${String(check)})`);
    const schema = db.pragma("user_version", { simple: true }) as number;
    const { builds } = db.prepare("SELECT count(*) AS builds FROM builds").get() as { builds: number };
    return { builds, schema };
  } finally {
    db.close();
  }
}

async function replace(destination: string, partial: string, force: boolean): Promise<void> {
  if (!force || !existsSync(destination)) return rename(partial, destination);
  const old = `${partial}.old`;
  await rename(destination, old);
  await rename(partial, destination);
  await rm(old, { recursive: true, force: true });
}
