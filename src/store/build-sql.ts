import { UNFINISHED_STATES } from "./build-record.js";
import type { LatestQuery, ListQuery } from "./store-types.js";

/* The build store's longer SQL: the columns of its inserts, and pieces of its queries. */

export const UNFINISHED_SQL = UNFINISHED_STATES.map((s) => `'${s}'`).join(", ");
/**
 * Oldest first, for the few unfinished builds of a commit or pull request: sorted after the lookup
 * (the unary `+` keeps SQLite from reading them in builds_by_repo's order instead, which walks every
 * build the repository ever had: ~1 ms per delivery with 10,000 kept, growing with the history).
 */
export const BY_AGE_SORTED = "+created_at, +id";
/** The build ids of a query, passed as one JSON array parameter. */
export const IDS = "(SELECT value FROM json_each(?))";

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
  "stream_applied",
] as const;
export const INSERT_BUILD = insert("builds", BUILD_COLUMNS);
export const UPSERT_BUILD = `${INSERT_BUILD} ON CONFLICT (id) DO UPDATE SET ${BUILD_COLUMNS.filter((c) => c !== "id")
  .map((c) => `${c} = excluded.${c}`)
  .join(", ")}`;
export const INSERT_STEP = insert("steps", [
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
  "advice",
  "notes_json",
]);
export const INSERT_TEST = insert("test_results", [
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
  "only_in_parallel_json",
]);
export const INSERT_DIAGNOSTIC = insert("diagnostics", [
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

/** A query and its named parameters. */
interface Query {
  sql: string;
  params: Record<string, string | number>;
}

const MAX_LIST = 500;

/** BuildStore.list: newest first (createdAt, then id), filtered, from a cursor, at most MAX_LIST. */
export function listSql(query: ListQuery): Query {
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
  return { sql, params };
}

/** BuildStore.latest: the newest build of a repository (on a branch, of a pipeline, finished unless asked). */
export function latestSql(query: LatestQuery): Query {
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
  return { sql, params };
}

/** BuildStore.testDurations: each test's duration in the newest build of a repository whose test step has tests. */
export const TEST_DURATIONS = `
  SELECT t.test_id AS id, MAX(t.duration_ms) AS ms
  FROM test_results t JOIN steps s ON s.build_id = t.build_id AND s.position = t.step
  WHERE s.name = 'test' AND t.build_id = (
    SELECT b.id FROM builds b JOIN steps bs ON bs.build_id = b.id
    WHERE b.owner = @owner AND b.repo = @repo AND bs.name = 'test' AND bs.test_count > 0
    ORDER BY b.created_at DESC, b.id DESC LIMIT 1)
  GROUP BY t.test_id`;
