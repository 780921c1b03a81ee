import { BUILD_STATES } from "../store/build-record.js";
import { isBuildId, type BuildState, type ListQuery } from "../store/build-store.js";

/** The filters of the build list and of GET /api/builds, as the query string carries them. */
export interface ListFilters {
  /** `owner/repo`, or an owner alone. */
  repository?: string;
  state?: BuildState;
  branch?: string;
}

export interface ParsedListQuery {
  filters: ListFilters;
  /** For BuildStore.list(); `limit` is the page size, ask for one more to know whether a next page exists. */
  query: ListQuery & { limit: number };
}

export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;
const MAX_BRANCH = 255;
/** What Date#toISOString gives: the store's createdAt, used as the cursor. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Pure: `repository` (owner/repo or owner), or `owner` and `repo`; `state`;
 * `branch`; `limit` (1–200, default 50); and the cursor of the next page,
 * `before` (a createdAt) with `beforeId`. Returns the problem as a sentence
 * when a parameter is malformed. Empty parameters (an empty form field) mean no filter.
 */
export function parseListQuery(params: URLSearchParams): ParsedListQuery | string {
  const get = (name: string) => params.get(name)?.trim() || undefined;
  const filters: ListFilters = {};
  const query: ListQuery & { limit: number } = { limit: DEFAULT_PAGE };

  const repository = get("repository");
  const [owner, repo, extra] = repository !== undefined ? repository.split("/") : [get("owner"), get("repo")];
  if (extra !== undefined) return "repository must be owner/repo, or an owner";
  for (const [name, value] of [
    ["owner", owner],
    ["repo", repo],
  ] as const) {
    if (value === undefined) continue;
    if (!NAME.test(value)) return `${name} must be a GitHub name (letters, digits, - _ .)`;
    query[name] = value;
  }
  if (owner !== undefined) filters.repository = repo !== undefined ? `${owner}/${repo}` : owner;
  else if (repo !== undefined) return "a repository filter needs its owner: repository=owner/repo";

  const state = get("state");
  if (state !== undefined) {
    if (!(BUILD_STATES as readonly string[]).includes(state)) return `state must be one of ${BUILD_STATES.join(", ")}`;
    query.state = filters.state = state as BuildState;
  }
  const branch = get("branch");
  if (branch !== undefined) {
    if (branch.length > MAX_BRANCH) return `branch must be at most ${MAX_BRANCH} characters`;
    query.branch = filters.branch = branch;
  }
  const limit = get("limit");
  if (limit !== undefined) {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) return `limit must be a whole number from 1 to ${MAX_PAGE}`;
    query.limit = n;
  }
  const before = get("before");
  const beforeId = get("beforeId");
  if (before !== undefined) {
    if (!ISO_TIME.test(before)) return "before must be a build's createdAt (e.g. 2026-11-28T15:44:54.123Z)";
    query.before = before;
    if (beforeId !== undefined) {
      if (!isBuildId(beforeId)) return "beforeId must be a build id";
      query.beforeId = beforeId;
    }
  } else if (beforeId !== undefined) {
    return "beforeId needs before";
  }
  return { filters, query };
}

/** The query string of a page of the list: the filters, the page size when not the default, and a cursor. */
export function listQueryString(
  filters: ListFilters,
  limit: number,
  cursor?: { before: string; beforeId: string },
): string {
  const params = new URLSearchParams();
  if (filters.repository) params.set("repository", filters.repository);
  if (filters.state) params.set("state", filters.state);
  if (filters.branch) params.set("branch", filters.branch);
  if (limit !== DEFAULT_PAGE) params.set("limit", String(limit));
  if (cursor) {
    params.set("before", cursor.before);
    params.set("beforeId", cursor.beforeId);
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}
