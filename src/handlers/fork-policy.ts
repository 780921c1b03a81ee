import type { Config } from "../config.js";

/**
 * What a delivery may do with its commit under CI_FORK_POLICY:
 * - `build`: the commit is the base repository's own (pushed by someone
 *   with write access), or the policy is `run`;
 * - `skip`: a fork's commit under `skip`;
 * - `approve`: a fork's commit under `approve`. It builds only once someone
 *   with write access vouches for it: `approver` is the user whose write
 *   access would do so without a click (the sender of a re-run request, or
 *   of a pull request event on their own fork); without one, a maintainer
 *   must approve the commit.
 */
export type ForkDecision = { action: "build" } | { action: "skip" } | { action: "approve"; approver?: string };

/**
 * Pure: the decision for a `pull_request`, `check_run` or `check_suite`
 * delivery. A pull request is a fork's when its head repository is not the
 * base repository (or is gone: a deleted fork). A re-run request names no
 * head repository; GitHub leaves the suite's `head_branch` null when the
 * commit was pushed to a fork, so a commit on none of the base repository's
 * branches counts as a fork's.
 */
export function forkPolicy(policy: Config["forkPolicy"], event: string, raw: unknown): ForkDecision {
  if (policy === "run") return { action: "build" };
  const payload = raw as Payload;
  if (!fromFork(event, payload)) return { action: "build" };
  if (policy === "skip") return { action: "skip" };
  const sender = login(payload.sender);
  if (event !== "pull_request") return sender ? { action: "approve", approver: sender } : { action: "approve" };
  const forkOwner = login(payload.pull_request?.head?.repo?.owner);
  return sender && sender === forkOwner ? { action: "approve", approver: sender } : { action: "approve" };
}

/** Pure: whether a delivery's commit is a fork's, as forkPolicy decides it, whatever CI_FORK_POLICY says. */
export function fromFork(event: string, raw: unknown): boolean {
  const payload = raw as Payload;
  return event === "pull_request" ? isForkPullRequest(payload) : !onBaseBranch(event, payload);
}

interface Repo {
  id?: unknown;
  owner?: { login?: unknown };
}

export interface Payload {
  pull_request?: { head?: { repo?: Repo | null }; base?: { repo?: Repo | null } };
  check_run?: { check_suite?: { head_branch?: unknown } };
  check_suite?: { head_branch?: unknown };
  sender?: { login?: unknown };
}

/** A pull request whose head is not the base repository (or is gone: a deleted fork). */
export function isForkPullRequest(payload: Payload): boolean {
  const head = payload.pull_request?.head?.repo;
  const base = payload.pull_request?.base?.repo;
  return !head || typeof head.id !== "number" || head.id !== base?.id;
}

function onBaseBranch(event: string, payload: Payload): boolean {
  const suite = event === "check_run" ? payload.check_run?.check_suite : payload.check_suite;
  return typeof suite?.head_branch === "string" && suite.head_branch !== "";
}

function login(user: { login?: unknown } | undefined): string | undefined {
  return typeof user?.login === "string" && user.login !== "" ? user.login : undefined;
}
