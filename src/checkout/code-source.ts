import type { LogSink } from "../model/log-sink.js";
import { copyWorkingTree } from "./copy-working-tree.js";
import type { CacheSettings } from "./repo-cache.js";
import {
  checkout,
  checkoutExisting,
  createWorkspace,
  existingWorkspace,
  redactUrl,
  type CloneSource,
  type Workspace,
} from "./workspace.js";

/**
 * Where a build's code comes from: the checkout step (pipeline/steps/checkout.ts)
 * asks its source for a workspace, then for the code in it. The server clones
 * every build afresh, GitHub Actions builds the job's own checkout, and
 * `pyci run` copies a working tree or clones a ref.
 */
export interface CodeSource {
  /** Values this source carries that no log may show (an HTTPS token): masked in every step's log. */
  readonly secrets: string[];
  /** What the checkout step's summary says when the code could not be had ("Clone failed: …"). */
  readonly failure: string;
  /** The build's directories in `workRoot`: always `remove()` them when the build ends. */
  workspace(workRoot: string): Promise<Workspace>;
  /** Brings the code into the workspace; returns the step's summary, or throws a CheckoutError that says why not. */
  fetch(workspace: Workspace, options: FetchOptions): Promise<string>;
}

export interface FetchOptions {
  log: LogSink;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface CloneOptions {
  source: CloneSource;
  /** The exact commit (the server's builds) … */
  sha?: string;
  /** … or a branch, tag or commit to resolve (`pyci run --ref`; HEAD when neither is given). */
  ref?: string;
  /** Pull requests: their head ref is fetched when the commit itself cannot be (forks). */
  prNumber?: number;
  /** Through the git cache in CI_DATA_DIR (repo-cache.ts); absent: a plain clone. */
  cache?: CacheSettings;
  /** CI_MIN_FREE_DISK: refuse to clone with less free disk in the work root. */
  minFreeDiskBytes?: number;
}

/** A fresh clone into a new workspace (the server; `pyci run <url>` and `--ref`). */
export function freshClone(options: CloneOptions): CodeSource {
  return {
    secrets: options.source.protocol === "https" && options.source.token ? [options.source.token] : [],
    failure: "Clone failed",
    workspace: (root) => createWorkspace(root),
    async fetch(workspace, fetchOptions) {
      const sha = await checkout(workspace, { ...options, ...fetchOptions });
      return options.sha ? `Checked out ${sha.slice(0, 7)}` : `Checked out ${options.ref ?? "HEAD"}`;
    },
  };
}

/**
 * The checkout that exists (GitHub Actions' actions/checkout), brought to
 * exactly `sha` and never removed: only the build's scratch dir is pyci's.
 */
export function existingCheckout(dir: string, sha: string, prNumber?: number): CodeSource {
  return {
    secrets: [],
    failure: "Clone failed",
    workspace: (root) => existingWorkspace(root, dir),
    async fetch(workspace, fetchOptions) {
      await checkoutExisting(workspace, {
        source: { protocol: "local", url: dir },
        sha,
        ...(prNumber !== undefined ? { prNumber } : {}),
        ...fetchOptions,
      });
      return `Checked out ${sha.slice(0, 7)}`;
    },
  };
}

/** `pyci run <dir>`: the working tree as it is, uncommitted changes included, copied (never written to). */
export function workingTreeCopy(dir: string): CodeSource {
  return {
    secrets: [],
    failure: "Copy failed",
    workspace: (root) => createWorkspace(root),
    async fetch(workspace, { log }) {
      const files = await copyWorkingTree(dir, workspace);
      log.write(`Copied ${files} files of the working tree of ${redactUrl(dir)}\n`);
      return "Working tree copied";
    },
  };
}
