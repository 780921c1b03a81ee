import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { jobFork } from "../../src/actions/job-fork.js";
import { appendJobSummary, jobSummary } from "../../src/actions/job-summary.js";
import { pullRequestPayload } from "../support/payloads.js";

const RUN = "https://github.com/acme/widgets/actions/runs/7";
const pr = (fork: boolean) =>
  pullRequestPayload({
    action: "opened",
    owner: "acme",
    repo: "widgets",
    number: 3,
    headSha: "a".repeat(40),
    sshUrl: "git@github.com:acme/widgets.git",
    cloneUrl: "https://github.com/acme/widgets.git",
    installationId: 1,
    fork,
    forkOwner: "someone",
  });

describe("jobFork", () => {
  it("names the fork of a pull_request event, whose token is read-only; nothing else", () => {
    expect(jobFork("pull_request", pr(true))).toBe("someone/widgets");
    expect(jobFork("pull_request", pr(false))).toBeUndefined();
    // push and the others run with the permissions the workflow grants
    expect(jobFork("push", pr(true))).toBeUndefined();
    expect(jobFork("pull_request", null)).toBeUndefined();
    const gone = pr(true) as unknown as { pull_request: { head: { repo: unknown } } };
    gone.pull_request.head.repo = null;
    expect(jobFork("pull_request", gone)).toBe("a deleted fork");
  });
});

describe("jobSummary", () => {
  it("has a line per build and the run's link; for a fork, says first why nothing is on the commit", () => {
    const verdict = { exitCode: 1 as const, lines: ["build of abc1234: failure (test: 1 failure in 1 test)"] };
    const plain = jobSummary(verdict, RUN, undefined);
    expect(plain).toBe(
      [
        "### pyci",
        "",
        "- ❌ build of abc1234: failure (test: 1 failure in 1 test)",
        "",
        `Every step's log: [this workflow run](${RUN}) (one group per step).`,
        "",
      ].join("\n"),
    );
    const fork = jobSummary(verdict, RUN, "someone/widgets");
    expect(fork).toContain(
      "> Nothing was reported on the commit: this pull request comes from the fork someone/widgets, and GitHub gives a fork's pull_request run a read-only token",
    );
    expect(fork.indexOf("Nothing was reported")).toBeLessThan(fork.indexOf("- ❌ build"));
  });

  it("escapes what the repository's tools wrote: no link, HTML or heading of theirs", () => {
    const md = jobSummary(
      { exitCode: 0, lines: ["build: success (<img src=x> [x](http://evil) # h)"] },
      RUN,
      undefined,
    );
    expect(md).toContain("\\<img src=x\\> \\[x\\](http://evil) \\# h");
  });
});

describe("appendJobSummary", () => {
  const dir = mkdtempSync(join(tmpdir(), "pyci-job-summary-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("appends to the runner's file, does nothing without one, and returns (never throws) a failure", () => {
    const file = join(dir, "summary.md");
    expect(appendJobSummary(file, "one\n")).toBeUndefined();
    expect(appendJobSummary(file, "two\n")).toBeUndefined();
    expect(readFileSync(file, "utf8")).toBe("one\ntwo\n");
    expect(appendJobSummary(undefined, "x")).toBeUndefined();
    expect(appendJobSummary(join(dir, "no-such-dir", "summary.md"), "x")).toBeInstanceOf(Error);
  });
});
