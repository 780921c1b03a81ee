import type { LogSink } from "../model/log-sink.js";
import type { CloneSource } from "./git-command.js";
import type { CacheSettings, MirrorLease } from "./repo-cache.js";

export interface CheckoutRequest {
  source: CloneSource;
  /** The exact commit to build … */
  sha?: string;
  /** … or a branch, tag or commit to resolve (the CLI's --ref; HEAD when neither is given). */
  ref?: string;
  /** For pull requests: refs/pull/<n>/head is fetched when the commit itself cannot be (forks). */
  prNumber?: number;
  log: LogSink;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Fetch through the per-repository git cache (repo-cache.ts) in this data dir; absent: a plain clone. */
  cache?: CacheSettings;
  /** Refuse to clone with less free disk than this where the workspace is (CI_MIN_FREE_DISK). */
  minFreeDiskBytes?: number;
}

export interface Workspace {
  /** The checkout: the repository at `sha`. */
  dir: string;
  /** Throwaway HOME, TMPDIR and virtualenv of the code under test; outside the checkout. */
  scratchDir: string;
  /** The checkout's git tree (`HEAD^{tree}`), set by `checkout` before any of its code runs. */
  tree?: string;
  /** The git cache's mirrors the checkout borrows objects from (set by `checkout`): `remove()` lets them go. */
  leases: MirrorLease[];
  /**
   * Removes the checkout and lets its mirrors go. The caches are not bounded here: the caller
   * that asked for them calls evictCaches (pipeline/evict-caches.ts) when it is done.
   */
  remove(): Promise<void>;
}
