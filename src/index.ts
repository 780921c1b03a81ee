import type { ApplicationFunction } from "probot";
import { BuildQueue } from "./builds/build-queue.js";
import { serverBuildUrl, type BuildDeps } from "./builds/build-deps.js";
import { cloneEachBuild } from "./builds/clone-each-build.js";
import { localExecutor } from "./builds/local-executor.js";
import { runsOnIgnored } from "./builds/runs-on-ignored.js";
import { sandboxSettings } from "./process/sandbox/sandbox-settings.js";
import { resumeBuilds } from "./builds/resume-builds.js";
import { shutdownBuilds } from "./builds/shutdown-builds.js";
import type { Config } from "./config.js";
import type { GitHubAuth } from "./model/build-request.js";
import { countApiErrors } from "./github/count-api-errors.js";
import { GitHubOutbox } from "./github/github-outbox.js";
import { octokitPerInstallation } from "./github/octokit-per-installation.js";
import { registerHandlers, type ReceivedDelivery } from "./handlers/register-handlers.js";
import { ownerEnded } from "./checkout/workspace.js";
import { killLeftoverProcesses } from "./process/kill-leftover-processes.js";
import { createMetrics } from "./metrics/create-metrics.js";
import { BuildStore } from "./store/build-store.js";
import { OutboxStore } from "./store/outbox-store.js";
import { apiRoutes } from "./web/api-routes.js";
import { badgeRoutes } from "./web/badge-routes.js";
import { buildRoutes } from "./web/build-routes.js";
import { LiveClients } from "./web/live-clients.js";
import { opsRoutes } from "./web/ops-routes.js";
import { workerRoutes } from "./web/worker-routes.js";

/** What the server can ask of the app once loaded (createApp fills it in). */
export interface AppControl {
  /**
   * Stops the builds gracefully (SIGTERM): nothing new starts; running builds
   * get `graceMs` to finish, then are stopped and left queued for the next start.
   */
  shutdown?(graceMs: number): Promise<void>;
  /**
   * Runs the app's handlers on a delivery whose signature was checked, without
   * Probot's webhooks (which build an authenticated Octokit for every delivery);
   * rejects when a handler throws (it is logged with the delivery id).
   */
  receive?(delivery: ReceivedDelivery): Promise<void>;
}

export interface AppOptions {
  /** Values masked in every stored log (webhook secret, private key lines). */
  secrets?: string[];
  /** The build queue; tests pass their own to wait for it to drain. */
  queue?: BuildQueue;
  /**
   * Resume the builds an earlier process left queued or running (see resumeBuilds): the server
   * does, at load, before it listens. Off by default: tests load the app into a Probot of their own.
   */
  resumeInterrupted?: boolean;
  /** Filled in with the app's controls, for the server's signal handlers. */
  control?: AppControl;
  /**
   * "installation" (default): a GitHub App's deliveries, each built with its installation's token.
   * "token": a repository webhook's deliveries, every build with the one token Probot was given
   * (CI_GITHUB_TOKEN), which cannot write check runs: builds report commit statuses alone.
   */
  auth?: GitHubAuth;
}

/** The Probot app of the server: wiring only (the handlers, resuming interrupted builds, and the pages, API, badges and metrics as HTTP routes). */
export function createApp(config: Config, options: AppOptions = {}): ApplicationFunction {
  return async (app, { addHandler }) => {
    const store = new BuildStore(config.dataDir, {
      retention: { olderThanDays: config.retentionDays, keepBuilds: config.retentionBuilds },
      log: app.log,
    });
    // with CI_REDIS_URL the builds run on `pyci worker`s, and this server only follows them;
    // loaded only then: BullMQ and ioredis cost an idle server some 15 MB
    const scaleOut = config.redisUrl ? await import("./workers/hand-to-workers.js") : undefined;
    const workers =
      scaleOut && config.redisUrl
        ? scaleOut.handToWorkers({
            redisUrl: config.redisUrl,
            dataDir: config.dataDir,
            secrets: options.secrets ?? [],
            log: app.log,
            octokitFor: (id) => octokitFor(id),
            handedOver: (seconds) => metrics.handedOver(seconds),
          })
        : undefined;
    const queue = options.queue ?? new BuildQueue(scaleOut ? scaleOut.HANDED_OVER_AT_ONCE : config.concurrency);
    // statuses and check-run updates GitHub fails for now are kept and retried (docs/operations.md: When GitHub is down)
    const outbox = new GitHubOutbox({
      store: new OutboxStore(config.dataDir),
      octokitFor: (id) => octokitFor(id),
      log: app.log,
    });
    const metrics = createMetrics({ store, queue, outbox, ...(workers ? { workers: workers.metrics } : {}) });
    // one Octokit per installation, for every build and write (it renews its own token)
    const octokitFor = octokitPerInstallation(async (installationId) =>
      countApiErrors(await app.auth(installationId), metrics),
    );
    // each build a fresh clone of its commit, its code in the sandbox CI_SANDBOX names (here or on a worker)
    const local = localExecutor({
      config,
      secrets: options.secrets ?? [],
      codeSource: cloneEachBuild(config),
      sandbox: () => sandboxSettings(config),
    });
    const deps: BuildDeps = {
      config,
      store,
      queue,
      auth: options.auth ?? "installation",
      octokitFor,
      checkRuns: (options.auth ?? "installation") === "installation",
      outbox,
      log: app.log,
      secrets: options.secrets ?? [],
      buildUrl: (id) => serverBuildUrl(config, id),
      executor: workers?.executor ?? runsOnIgnored(local),
      events: metrics,
    };
    // CI_SERVER_BUILDS: with workers, the server may build too, as one of them
    const ownWorker = config.serverBuilds
      ? (await import("./workers/start-own-worker.js")).startOwnWorker(config, local, app.log)
      : undefined;
    if (options.resumeInterrupted) {
      // the steps of a killed process may still run: they must not race their builds' re-runs
      const killed = killLeftoverProcesses(config.workDir, ownerEnded);
      if (killed.length > 0)
        app.log.warn({ pids: killed }, "killed processes an earlier pyci left running in its checkouts");
      void resumeBuilds(deps);
    }
    if (options.control) {
      options.control.shutdown = async (graceMs) => {
        await Promise.all([shutdownBuilds(deps, graceMs), ownWorker?.close(graceMs)]);
        await workers?.close();
      };
    }
    outbox.start();
    const receive = registerHandlers(app, deps);
    if (options.control) options.control.receive = receive;
    addHandler(
      buildRoutes(store, {
        log: app.log,
        liveClients: new LiveClients({ perBuild: config.liveClientsPerBuild, total: config.liveClients }),
        ...(workers ? { waitingFor: workers.waitingFor } : {}),
      }),
    );
    addHandler(workerRoutes({ adminToken: config.adminToken, ...(workers ? { workers: workers.workers } : {}) }));
    addHandler(apiRoutes({ store, adminToken: config.adminToken, buildUrl: deps.buildUrl }));
    addHandler(badgeRoutes(store, config.publicBadges));
    addHandler(
      opsRoutes({
        store,
        workDir: config.workDir,
        registry: metrics.registry,
        adminToken: config.adminToken,
        ...(workers ? { handOverProblem: workers.problem } : {}),
      }),
    );
  };
}
