import type { ApplicationFunction } from "probot";
import type { BuildDeps } from "../builds/build-deps.js";
import type { BuildQueue } from "../builds/build-queue.js";
import { localExecutor } from "../builds/local-executor.js";
import { existingCheckout } from "../checkout/code-source.js";
import type { Config } from "../config.js";
import { registerHandlers } from "../handlers/register-handlers.js";
import type { BuildStore } from "../store/build-store.js";
import type { ActionsOutcome } from "./actions-outcome.js";

export interface ActionsAppOptions {
  store: BuildStore;
  /** The entry waits for it to drain before the job ends. */
  queue: BuildQueue;
  /** The checkout actions/checkout made (GITHUB_WORKSPACE): built in place, never removed. */
  workspace: string;
  /** The workflow run's page: statuses and the check run link there. */
  runUrl: string;
  /** Masked in every stored log (the job's token). */
  secrets: string[];
  outcome: ActionsOutcome;
  /** The job's token cannot write (a fork's pull request): build, report nothing (BuildDeps.readOnly). */
  readOnly: boolean;
}

/**
 * The Probot app for a GitHub Actions job: the server's handlers and pipelines,
 * authenticated with the job's token, building the existing checkout.
 * No web routes: there is no server (the adapter's Probot has none).
 */
export function createActionsApp(config: Config, options: ActionsAppOptions): ApplicationFunction {
  return (app) => {
    const { outcome } = options;
    const deps: BuildDeps = {
      config,
      store: options.store,
      queue: options.queue,
      auth: "token",
      // with a token, Probot's auth() is an Octokit with that token, for any installation
      octokitFor: () => app.auth(),
      // no outbox: nothing outlives the job to send a kept write later
      outbox: undefined,
      log: app.log,
      secrets: options.secrets,
      readOnly: options.readOnly,
      buildUrl: () => options.runUrl,
      // the job's own checkout, brought to the build's commit; the job's throwaway runner is the sandbox
      executor: localExecutor({
        config,
        secrets: options.secrets,
        codeSource: async (request) => existingCheckout(options.workspace, request.sha, request.prNumber),
      }),
      // what became of the event: the job's exit code
      events: outcome,
    };
    app.onAny((event) => outcome.received(event.name, (event.payload as { action?: unknown }).action));
    app.onError((error) => outcome.failed(error));
    // `push`: the docs job of the workflow (docs/github-actions.md)
    registerHandlers(app, deps, { push: true });
  };
}
