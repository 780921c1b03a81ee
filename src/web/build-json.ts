import type { StepResult } from "../pipeline/types.js";
import type { BuildRecord } from "../store/build-store.js";

/** A step as the API shows it: no paths on the server (the interpreter, where artifacts and environments are kept). */
export type StepJson = Omit<StepResult, "python" | "artifacts" | "mount"> & {
  artifacts?: { name: string; contentType: string }[];
};

export type BuildJson = Omit<BuildRecord, "request" | "steps"> & {
  /** The build's page (its capability URL). */
  url: string;
  /** Its logs, all steps or ?step=<name>, through the API. */
  logUrl: string;
  steps: StepJson[];
};

/**
 * Pure: a build as GET /api/builds and /api/builds/:id answer it. What was
 * asked for (`request`: installation, clone URLs) stays on the server.
 */
export function buildJson(build: BuildRecord, url: string): BuildJson {
  const { request: _request, steps, ...fields } = build;
  return { ...fields, url, logUrl: `/api/builds/${build.id}/log`, steps: steps.map(stepJson) };
}

function stepJson(step: StepResult): StepJson {
  const { python: _python, mount: _mount, artifacts, ...fields } = step;
  return {
    ...fields,
    ...(artifacts ? { artifacts: artifacts.map(({ name, contentType }) => ({ name, contentType })) } : {}),
  };
}
