import { describe, expect, it } from "vitest";
import { ActionsOutcome } from "../../src/actions/actions-outcome.js";
import type { StepResult } from "../../src/pipeline/types.js";
import type { BuildRecord } from "../../src/store/build-store.js";

const SHA = "1a2b3c4d5e6f70811a2b3c4d5e6f70811a2b3c4d";

function build(state: BuildRecord["state"], steps: Partial<StepResult>[] = [], pipeline = "pr"): BuildRecord {
  return {
    id: "AAAAAAAAAAAAAAAAAAAAAA",
    owner: "o",
    repo: "r",
    sha: SHA,
    event: "pull_request.opened",
    pipeline,
    state,
    createdAt: "2026-01-01T00:00:00Z",
    steps: steps.map((s) => ({ name: "test", state: "success", summary: "", exitCode: 0, durationMs: 1, ...s })),
  };
}

function verdictOf(setup: (o: ActionsOutcome) => void) {
  const outcome = new ActionsOutcome();
  outcome.received("pull_request", "opened");
  setup(outcome);
  return outcome.verdict();
}

describe("ActionsOutcome.verdict", () => {
  it("exits 0 when every build passed", () => {
    const v = verdictOf((o) =>
      o.accepted(
        build("success", [
          { name: "check", summary: "No problems" },
          { name: "test", summary: "2 tests passed" },
        ]),
      ),
    );
    expect(v).toEqual({ exitCode: 0, lines: ["build of 1a2b3c4: success (check: No problems; test: 2 tests passed)"] });
  });

  it("exits 1 when a step failed, naming only the failing steps", () => {
    const v = verdictOf((o) =>
      o.accepted(
        build("failure", [
          { name: "check", summary: "ok" },
          { name: "test", state: "failure", summary: "1 failure in 2 tests" },
        ]),
      ),
    );
    expect(v).toEqual({ exitCode: 1, lines: ["build of 1a2b3c4: failure (test: 1 failure in 2 tests)"] });
  });

  it("exits 2 when pyci could not run a step, could not finish a build, or a handler threw", () => {
    expect(
      verdictOf((o) =>
        o.accepted(build("error", [{ name: "checkout", state: "error", summary: "Clone failed" }], "docs")),
      ).exitCode,
    ).toBe(2);
    expect(verdictOf((o) => o.accepted(build("running"))).exitCode).toBe(2);
    expect(verdictOf((o) => (o.accepted(build("failure")), o.accepted(build("error")))).exitCode).toBe(2);
    const crashed = verdictOf((o) => o.failed(new Error("store is full")));
    expect(crashed).toEqual({ exitCode: 2, lines: ["pyci could not handle pull_request.opened: store is full"] });
  });

  it("exits 0 with the reason when the event starts no build", () => {
    expect(verdictOf((o) => o.ignoredBecause("pull request closed without merging")).lines).toEqual([
      "No build for pull_request.opened: pull request closed without merging",
    ]);
    const push = new ActionsOutcome();
    push.received("push", undefined);
    expect(push.verdict()).toEqual({ exitCode: 0, lines: ["No build for push: pyci does not build on push"] });
    expect(new ActionsOutcome().verdict()).toEqual({
      exitCode: 0,
      lines: ["No build for this event: no event was received"],
    });
  });
});
