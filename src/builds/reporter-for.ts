import type { Logger } from "probot";
import { BuildReporter } from "../github/build-reporter.js";
import type { Octokit } from "../github/types.js";
import type { BuildDeps } from "./build-deps.js";

/** The build reporter for one build or delivery: its Octokit and logger, this server's outbox and reports. */
export function reporterFor(
  deps: Pick<BuildDeps, "outbox" | "checkRuns">,
  octokit: Octokit,
  log: Logger,
): BuildReporter {
  return new BuildReporter({ octokit, outbox: deps.outbox, log, checkRuns: deps.checkRuns !== false });
}
