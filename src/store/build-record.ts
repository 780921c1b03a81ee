import type { BuildRequest } from "../model/build-request.js";
import type { StepResult } from "../pipeline/types.js";

export type BuildState = "queued" | "running" | "success" | "failure" | "error";

export const BUILD_STATES: readonly BuildState[] = ["queued", "running", "success", "failure", "error"];

/** States a build can still leave: never pruned, re-queued or settled after a restart. */
export const UNFINISHED_STATES: readonly BuildState[] = ["queued", "running"];

export interface BuildRecord {
  /** Capability id: 128 random bits; the build page's URL is not guessable. */
  id: string;
  owner: string;
  repo: string;
  sha: string;
  event: string;
  /** "pr" (check + test) or "docs". */
  pipeline: string;
  deliveryId?: string;
  prNumber?: number;
  prTitle?: string;
  prUrl?: string;
  state: BuildState;
  /** Why the build ended in `error`, when it did. */
  error?: string;
  /** ISO 8601 in UTC (Date#toISOString): listing, cursors and retention compare these as strings. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  steps: StepResult[];
  checkRunId?: number;
  /** The branch the build is about (PR head ref, or the branch a merge went into): for badges. */
  branch?: string;
  /** What was asked for, to re-queue or settle the build after a restart. */
  request?: BuildRequest;
  /** How often the build was started; a restart re-queues an interrupted build only a few times. */
  attempts?: number;
  /**
   * For a build on a `pyci worker`: the id of the last entry of its event stream whose effects
   * (steps, their logs) are stored. A restarted server reads the stream on from there.
   */
  streamApplied?: string;
}
