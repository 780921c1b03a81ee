import type { Logger } from "probot";
import type { Config } from "../config.js";
import type { GitHubOutbox } from "../github/github-outbox.js";
import type { Octokit } from "../github/types.js";
import type { BuildEvents } from "../metrics/build-events.js";
import type { BuildStore } from "../store/build-store.js";
import type { BuildQueue } from "./build-queue.js";
import type { GitHubAuth } from "../model/build-request.js";
import type { BuildExecutor } from "./build-executor.js";

/**
 * What handlers and builds work with, made once by the wiring (index.ts for
 * the server, actions/create-actions-app.ts for GitHub Actions). Nothing here
 * says which of the two it is: where they differ, each field says how.
 */
export interface BuildDeps {
  /** pyci's settings (CI_*), parsed once (config.ts). */
  config: Config;
  /** Build records and step logs (SQLite): a build is stored before GitHub hears of it. */
  store: BuildStore;
  /** Runs accepted builds, CI_CONCURRENCY at a time; newer heads of a pull request stop older ones. */
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
   * (the server's; docs/operations.md: When GitHub is down). Undefined where there is
   * none (GitHub Actions): every failure is thrown to the reporting code.
   */
  outbox: GitHubOutbox | undefined;
  /** pyci's logger; each build logs through a child of it naming the build (build-log.ts). */
  log: Logger;
  /** Values that must never be stored or shown (webhook secret, private key). */
  secrets: string[];
  /**
   * Whether builds report a check run beside their commit statuses: an App's token and an Actions
   * job's can write them; a repository webhook's personal access token cannot (false: statuses only).
   */
  checkRuns?: boolean;
  /**
   * True where the token can read but not write (a fork's pull request in GitHub Actions, whose
   * GITHUB_TOKEN is read-only): builds run and are stored, and nothing is written to GitHub (no
   * status, check run or release), so no write fails. Default false.
   */
  readOnly?: boolean;
  /** The page a build's statuses and check run link to. */
  buildUrl(id: string): string;
  /**
   * Where builds' pipelines run (build-executor.ts): in this process (localExecutor, with the
   * build's code source and sandbox), or on `pyci worker`s through Redis (CI_REDIS_URL).
   */
  executor: BuildExecutor;
  /** Told what became of each delivery and step: the server's /metrics counts them, a GitHub Actions job sets its exit code from them. */
  events?: BuildEvents;
}

/** The server's build pages: `<CI_PUBLIC_URL>/builds/<id>`. */
export function serverBuildUrl(config: Config, id: string): string {
  return `${config.publicUrl}/builds/${id}`;
}
