import type Database from "better-sqlite3";
import type { Migration } from "./migrations/migration.js";
import { MIGRATIONS } from "./migrations/migrations.js";

/**
 * Brings the database to the latest schema: every migration newer than its
 * PRAGMA user_version, in order, in one IMMEDIATE transaction (two processes
 * opening the same file at once cannot both migrate; a failed migration
 * leaves the database as it was). Opening an up-to-date database changes nothing.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(
        `Migration "${m.name}" has version ${m.version}; expected ${i + 1} (versions run 1, 2, 3… in order)`,
      );
  });
  const latest = migrations.length;
  const apply = db.transaction(() => {
    const from = db.pragma("user_version", { simple: true }) as number;
    if (from > latest) {
      throw new Error(
        `The database ${db.name} has schema version ${from}, newer than this pyci knows (${latest}). Run the pyci version that wrote it, or restore a backup of CI_DATA_DIR taken before the upgrade.`,
      );
    }
    for (const migration of migrations.slice(from)) {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    }
    return { from, to: Math.max(from, latest) };
  });
  return apply.immediate();
}
