import type { ApplicationFunction } from "probot";
import { BuildQueue } from "./builds/build-queue.js";
import { serverBuildUrl, type BuildDeps } from "./builds/build-deps.js";
import type { Config } from "./config.js";
import { registerHandlers } from "./handlers/register-handlers.js";
import { BuildStore } from "./store/build-store.js";
import { buildRoutes } from "./web/build-routes.js";

export interface AppOptions {
  /** Values masked in every stored log (webhook secret, private key lines). */
  secrets?: string[];
  /** The build queue; tests pass their own to wait for it to drain. */
  queue?: BuildQueue;
}

/** The Probot app of the server: wiring only (the handlers, and the build pages as HTTP routes). */
export function createApp(config: Config, options: AppOptions = {}): ApplicationFunction {
  return (app, { addHandler }) => {
    const store = new BuildStore(config.dataDir, { retention: { olderThanDays: config.retentionDays, keepBuilds: config.retentionBuilds }, log: app.log });
    const deps: BuildDeps = {
      config,
      store,
      queue: options.queue ?? new BuildQueue(config.concurrency),
      auth: "installation",
      octokitFor: (installationId) => app.auth(installationId),
      log: app.log,
      secrets: options.secrets ?? [],
      buildUrl: (id) => serverBuildUrl(config, id),
      source: { kind: "clone" },
    };
    registerHandlers(app, deps);
    addHandler(buildRoutes(store));
  };
}
