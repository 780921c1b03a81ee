import type { Logger } from "probot";
import type { Config } from "../config.js";
import type { GitHubOutbox } from "../github/github-outbox.js";
import type { Octokit } from "../github/types.js";
import type { BuildMetrics } from "../metrics/build-metrics.js";
import type { BuildRecord, BuildStore } from "../store/build-store.js";
import type { BuildQueue } from "./build-queue.js";
import type { GitHubAuth } from "../model/build-request.js";

export interface BuildDeps {
  config: Config;
  store: BuildStore;
  queue: BuildQueue;
  /** Whether deliveries must name an App installation ("installation"), or one token serves all ("token"). */
  auth: GitHubAuth;
  /**
   * An Octokit authenticated as the installation (tokens are minted and renewed by Probot),
   * or with the one token when `auth` is "token" (the id is then absent).
   */
  octokitFor(installationId: number | undefined): Promise<Octokit>;
  /**
   * Where a build's statuses and check-run updates wait while GitHub fails
   * (the server's; README: When GitHub is down). Undefined where there is
   * none (GitHub Actions): every failure is thrown to the reporting code.
   */
  outbox: GitHubOutbox | undefined;
  log: Logger;
  /** Values that must never be stored or shown (webhook secret, private key). */
  secrets: string[];
  /** The page a build's statuses and check run link to. */
  buildUrl(id: string): string;
  /**
   * Where the code comes from: a fresh clone per build (the server), or a
   * checkout that already exists (GitHub Actions' actions/checkout), which
   * is brought to the build's commit and never removed.
   */
  source: { kind: "clone" } | { kind: "existing"; dir: string };
  /** Told of every build accepted (the live record, updated until it ends): GitHub Actions sets its exit code from them. */
  onAccepted?(record: BuildRecord): void;
  /** Told why a delivery starts no build (it is logged too). */
  onIgnored?(reason: string): void;
  /** Counts deliveries, step durations and GitHub API errors for /metrics (the server only). */
  metrics?: BuildMetrics;
}

/** The server's build pages: `<CI_PUBLIC_URL>/builds/<id>`. */
export function serverBuildUrl(config: Config, id: string): string {
  return `${config.publicUrl}/builds/${id}`;
}
