import type { ApplicationFunction } from "probot";
import { BuildQueue } from "./builds/build-queue.js";
import type { BuildDeps } from "./builds/run-build.js";
import type { Config } from "./config.js";
import { fromCheckRun, fromCheckSuite, fromPullRequest } from "./handlers/build-request-from.js";
import { onBuildEvent } from "./handlers/on-build-event.js";
import { BuildStore } from "./store/build-store.js";
import { buildRoutes } from "./web/build-routes.js";

/** The Probot app: wiring only. */
export function createApp(config: Config, secrets: string[] = []): ApplicationFunction {
  return (app, { addHandler }) => {
    const store = new BuildStore(config.dataDir);
    const deps: BuildDeps = {
      config,
      store,
      queue: new BuildQueue(config.concurrency),
      octokitFor: (installationId) => app.auth(installationId),
      log: app.log,
      secrets,
    };
    app.on(["pull_request.opened", "pull_request.reopened", "pull_request.synchronize"], onBuildEvent(deps, fromPullRequest));
    app.on("check_run.rerequested", onBuildEvent(deps, fromCheckRun));
    app.on("check_suite.rerequested", onBuildEvent(deps, fromCheckSuite));
    addHandler(buildRoutes(store));
  };
}
