import type { BuildRecord, BuildState } from "./build-record.js";

/* What the build store is asked and answers (build-store.ts). */

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
