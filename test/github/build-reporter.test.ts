import nock from "nock";
import { pino } from "pino";
import { Probot } from "probot";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BuildReporter, type ReportedBuild } from "../../src/github/build-reporter.js";
import type { Octokit } from "../../src/github/types.js";
import { UnthrottledOctokit } from "../support/unthrottled-octokit.js";

const API = "https://api.github.com";
const SHA = "abc1234def5678abc1234def5678abc1234def56";
const build: ReportedBuild = {
  owner: "o",
  repo: "r",
  sha: SHA,
  id: "build-1",
  url: "https://ci.example.com/builds/build-1",
  contexts: { "ci/check": ["check"], "ci/test": ["test"] },
  checkRunName: "pyci",
};

let octokit: Octokit;
beforeAll(async () => {
  nock.disableNetConnect();
  // a repository webhook's personal access token
  const probot = new Probot({ githubToken: "github_pat_x", Octokit: UnthrottledOctokit, logLevel: "warn" });
  octokit = await probot.auth();
});
afterAll(() => nock.enableNetConnect());
afterEach(() => nock.cleanAll());

/** Records the statuses sent; any other request is unmatched and fails the call. */
function statuses(): { context: string; state: string; description: string }[] {
  const sent: { context: string; state: string; description: string }[] = [];
  nock(API)
    .post(`/repos/o/r/statuses/${SHA}`, (body) => (sent.push(body), true))
    .times(2)
    .reply(201, {});
  return sent;
}

describe("BuildReporter without check runs (a repository webhook's token cannot write them)", () => {
  const log = pino({ level: "silent" });

  it("reports a queued build with its statuses alone, and no check run", async () => {
    const sent = statuses();
    const reporter = new BuildReporter({ octokit, outbox: undefined, log, checkRuns: false });
    expect(await reporter.queued(build, "Queued", { findLost: true })).toBeUndefined();
    expect(sent.map((s) => [s.context, s.state])).toEqual([
      ["ci/check", "pending"],
      ["ci/test", "pending"],
    ]);
    expect(nock.isDone()).toBe(true);
  });

  it("says a fork's commit was not built on every status, as error, instead of a skipped check run", async () => {
    const sent = statuses();
    const reporter = new BuildReporter({ octokit, outbox: undefined, log, checkRuns: false });
    const why = "Not built: approving a fork's commit takes the GitHub App's button (CI_FORK_POLICY=approve)";
    await reporter.forkSkipped(build, "pyci", { contexts: ["ci/check", "ci/test"], why, url: build.url });
    expect(sent).toEqual([
      expect.objectContaining({ context: "ci/check", state: "error", description: why }),
      expect.objectContaining({ context: "ci/test", state: "error", description: why }),
    ]);
  });

  it("with check runs (an App), creates the queued check run as before", async () => {
    statuses();
    nock(API).post("/repos/o/r/check-runs").reply(201, { id: 5 });
    const reporter = new BuildReporter({ octokit, outbox: undefined, log });
    expect(await reporter.queued(build, "Queued", { findLost: false })).toBe(5);
  });
});

describe("BuildReporter.waiting (a build no connected worker can take)", () => {
  const log = pino({ level: "silent" });
  const waits = "Waits for a worker with labels big, py312: none connected";

  it("says what the build waits for on every status and on its check run, which stays queued", async () => {
    const sent = statuses();
    let patched: { status?: string; output?: { title: string; summary: string } } = {};
    nock(API)
      .patch("/repos/o/r/check-runs/5", (body) => ((patched = body), true))
      .reply(200, { id: 5 });
    const reporter = new BuildReporter({ octokit, outbox: undefined, log });
    await reporter.waiting({ ...build, checkRunId: 5 }, waits);
    expect(sent.map((s) => [s.context, s.state, s.description])).toEqual([
      ["ci/check", "pending", waits],
      ["ci/test", "pending", waits],
    ]);
    expect(patched).toMatchObject({ status: "queued", output: { title: waits } });
    expect(patched.output?.summary).toContain("it starts as soon as one connects");
    expect(nock.isDone()).toBe(true);
  });
});
