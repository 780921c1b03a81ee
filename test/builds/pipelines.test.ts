import { describe, expect, it } from "vitest";
import { PIPELINES } from "../../src/builds/pipelines.js";

describe("PIPELINES", () => {
  it("reports each step on the commit status its step names, in the pipeline's order", () => {
    expect(PIPELINES.pr.contexts).toEqual({ "ci/check": ["check"], "ci/test": ["test"] });
    expect(Object.keys(PIPELINES.pr.contexts)).toEqual(["ci/check", "ci/test"]);
    // the docs release runs after the pipeline, on the docs' status
    expect(PIPELINES.docs.contexts).toEqual({ "ci/docs": ["docs", "publish"] });
  });

  it("gives a step without a status none: the install step shows in the check run and on the build page", () => {
    const reported = Object.values(PIPELINES.pr.contexts).flat();
    const steps = PIPELINES.pr.pipeline.stages.flat().map((step) => step.name);
    expect(steps).toContain("install");
    expect(reported).not.toContain("install");
  });
});
