import { describe, expect, it } from "vitest";
import { forkPolicy, fromFork } from "../../src/handlers/fork-policy.js";
import { pullRequestPayload } from "../support/payloads.js";

const SHA = "a".repeat(40);
const base = {
  action: "opened",
  owner: "octo-org",
  repo: "calc",
  number: 3,
  headSha: SHA,
  sshUrl: "git@github.com:octo-org/calc.git",
  cloneUrl: "https://github.com/octo-org/calc.git",
  installationId: 1,
};
const same = () => pullRequestPayload(base) as any;
const fork = () => pullRequestPayload({ ...base, fork: true, forkOwner: "contributor" }) as any;
const suite = (headBranch: string | null, sender = "maintainer") => ({
  check_suite: { head_branch: headBranch, head_sha: SHA, pull_requests: [] },
  sender: { login: sender },
});

describe("forkPolicy", () => {
  it("builds the repository's own pull requests under every policy", () => {
    for (const policy of ["approve", "skip", "run"] as const)
      expect(forkPolicy(policy, "pull_request", same())).toEqual({ action: "build" });
  });

  it("builds, skips or asks for a fork's pull request as the policy says", () => {
    expect(forkPolicy("run", "pull_request", fork())).toEqual({ action: "build" });
    expect(forkPolicy("skip", "pull_request", fork())).toEqual({ action: "skip" });
    const other = fork();
    other.sender.login = "someone-else";
    expect(forkPolicy("approve", "pull_request", other)).toEqual({ action: "approve" });
  });

  it("names the fork's owner as approver when they sent the event themselves", () => {
    expect(forkPolicy("approve", "pull_request", fork())).toEqual({ action: "approve", approver: "contributor" });
  });

  it("takes a deleted fork (head.repo null) or a head repository without id for a fork", () => {
    const deleted = fork();
    deleted.pull_request.head.repo = null;
    deleted.sender.login = "x";
    expect(forkPolicy("approve", "pull_request", deleted)).toEqual({ action: "approve" });
    const noId = same();
    delete noId.pull_request.head.repo.id;
    expect(forkPolicy("skip", "pull_request", noId)).toEqual({ action: "skip" });
  });

  it("takes a re-run of a commit on none of the base repository's branches (head_branch null) for a fork's, its sender the approver", () => {
    expect(forkPolicy("approve", "check_suite", suite(null))).toEqual({ action: "approve", approver: "maintainer" });
    expect(forkPolicy("approve", "check_run", { check_run: suite(null), sender: { login: "m2" } })).toEqual({
      action: "approve",
      approver: "m2",
    });
    expect(forkPolicy("skip", "check_run", { check_run: {}, sender: { login: "m2" } })).toEqual({ action: "skip" });
    expect(forkPolicy("approve", "check_suite", suite("feature"))).toEqual({ action: "build" });
    expect(forkPolicy("approve", "check_run", { check_run: { check_suite: { head_branch: "main" } } })).toEqual({
      action: "build",
    });
  });

  it("tells a fork's commit whatever the policy (its build fills no cached environment)", () => {
    expect(fromFork("pull_request", fork())).toBe(true);
    expect(fromFork("pull_request", same())).toBe(false);
    expect(fromFork("check_suite", suite(null))).toBe(true);
    expect(fromFork("check_suite", suite("main"))).toBe(false);
  });
});
