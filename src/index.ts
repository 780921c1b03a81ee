import type { ApplicationFunction } from "probot";
import { BuildQueue } from "./builds/build-queue.js";
import { serverBuildUrl, type BuildDeps } from "./builds/build-deps.js";
import type { Config } from "./config.js";
import { fromCheckRun, fromCheckSuite, fromPullRequest } from "./handlers/build-request-from.js";
import { onBuildEvent } from "./handlers/on-build-event.js";
import { onMergedPullRequest } from "./handlers/on-merged-pull-request.js";
import { BuildStore } from "./store/build-store.js";
import { buildRoutes } from "./web/build-routes.js";

export interface AppOptions {
  /** Values masked in every stored log (webhook secret, private key lines). */
  secrets?: string[];
  /** The build queue; tests pass their own to wait for it to drain. */
  queue?: BuildQueue;
}

/** The Probot app: wiring only. */
export function createApp(config: Config, options: AppOptions = {}): ApplicationFunction {
  return (app, { addHandler }) => {
    const store = new BuildStore(config.dataDir);
    const deps: BuildDeps = {
      config,
      store,
      queue: options.queue ?? new BuildQueue(config.concurrency),
      octokitFor: (installationId) => app.auth(installationId),
      log: app.log,
      secrets: options.secrets ?? [],
      buildUrl: (id) => serverBuildUrl(config, id),
      source: { kind: "clone" },
    };
    app.on(["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"], onBuildEvent(deps, fromPullRequest));
    app.on("pull_request.closed", onMergedPullRequest(deps));
    app.on("check_run.rerequested", onBuildEvent(deps, fromCheckRun));
    app.on("check_suite.rerequested", onBuildEvent(deps, fromCheckSuite));
    addHandler(buildRoutes(store));
  };
}
