import { rmSync } from "node:fs";
import type Database from "better-sqlite3";
import { buildDataDirs } from "./build-files.js";
import { UNFINISHED_SQL } from "./build-sql.js";
import type { RetentionPolicy, StoreLog } from "./store-types.js";

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Removes the finished builds the policy no longer keeps: their rows (with
 * steps, tests, diagnostics) and their files (logs, artifacts). A build
 * whose files cannot be removed keeps its row, to be tried again.
 * Returns how many builds were removed.
 */
export function pruneBuilds(
  statement: (sql: string) => Database.Statement,
  dataDir: string,
  policy: RetentionPolicy,
  log: StoreLog | undefined,
): number {
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
  const ids = (statement(sql).all(params) as { id: string }[]).map((r) => r.id);
  let removed = 0;
  for (const id of ids) {
    try {
      for (const dir of buildDataDirs(dataDir, id)) rmSync(dir, { recursive: true, force: true });
    } catch (error) {
      log?.error(
        { err: error, buildId: id },
        "could not remove an old build's files; it is kept until the next pruning",
      );
      continue;
    }
    removed += statement("DELETE FROM builds WHERE id = ?").run(id).changes;
  }
  return removed;
}

function positive(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`Retention ${name} must be a whole number of at least 1, not ${value}`);
}
