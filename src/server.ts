#!/usr/bin/env -S node --max-semi-space-size=2
import type { Server } from "node:http";
import { Probot } from "probot";
import { ConfigError, loadConfig } from "./config.js";
import { serverEnv } from "./config/server-env.js";
import { BodyBudget } from "./http/body-budget.js";
import { createHttpServer, type Route } from "./http/create-http-server.js";
import { WEBHOOK_BODY_CAP } from "./http/read-limited-body.js";
import { serverOptions, type ServerOptions } from "./http/server-options.js";
import { shutDownOnSignals } from "./http/shut-down-on-signals.js";
import { startWebhookProxy } from "./http/start-webhook-proxy.js";
import { specEndpoints } from "./http/spec-endpoints.js";
import { webhookRoute, type VerifiedDelivery } from "./http/webhook-route.js";
import { registrationRoutes } from "./web/registration-routes.js";
import { createApp, type AppControl } from "./index.js";
import { createServerLog } from "./server-log.js";
import { PyciOctokit } from "./github/create-octokit-class.js";
import { isMain } from "./process/is-main.js";
import { closeSshConnections, sshControlDir } from "./checkout/ssh-connections.js";
import { sweepWorkspaces } from "./checkout/workspace.js";
import { buildCgroupLayout, removeLeftoverCgroups } from "./process/limits/build-cgroup.js";
import { killLeftoverBuildUids } from "./process/sandbox/build-uids.js";
import { knownSecrets } from "./secrets/known-secrets.js";
import { sandboxSettings } from "./process/sandbox/sandbox-settings.js";
import { sandboxStartupReport } from "./process/sandbox/sandbox-startup-report.js";
import { spawnHelper, stopSpawnHelper } from "./process/spawn-helper.js";

/**
 * `npm start`: Probot's run(), made by hand so that pyci owns the HTTP server
 * (Probot's puts its webhook middleware before every other handler, which
 * buffers any body whole):
 * 1. the environment: `.env` (the file wins, as in Probot), secrets from files
 *    (`*_FILE`), pyci's configuration;
 * 2. checkouts and SSH connections a killed run left behind are removed; the
 *    sandbox and the spawn helper are checked (secret files the sandbox user
 *    could read refuse start-up);
 * 3. without App credentials (outside production), the App's registration
 *    (web/registration-routes.ts: pyci's manifest, credentials saved to `.env`);
 * 4. the app, loaded into a Probot made from the environment as run() makes it;
 * 5. the HTTP server: size limit, webhook endpoint, the app's routes; then listening;
 * 6. SIGTERM/SIGINT: deliveries refused, builds given CI_SHUTDOWN_GRACE, exit.
 */
async function main(): Promise<void> {
  // 1. the environment
  Object.assign(process.env, serverEnv(process.cwd(), process.env));
  const config = loadConfig();
  const options = serverOptions();
  const log = await createServerLog();

  // 2. leftovers: first every process earlier builds left (by their cgroups and uids), then their checkouts
  const cgroups = await removeLeftoverCgroups().catch((err: unknown) => {
    log.warn({ err }, "could not remove the build cgroups an earlier run left");
    return [];
  });
  if (cgroups.length > 0)
    console.error(`pyci: removed ${cgroups.length} build cgroup(s) an earlier run left, and their processes`);
  if (process.getuid?.() === 0) {
    const uids = await killLeftoverBuildUids(config.sandboxUids);
    if (uids.length > 0)
      console.error(`pyci: killed the processes of ${uids.length} build uid(s) an earlier run left running`);
  }
  const swept = await sweepWorkspaces(config.workDir);
  if (swept > 0) console.error(`pyci: removed ${swept} checkout(s) left behind by an earlier run`);
  // SSH connections an earlier run kept open (maybe authenticated with another key): closed
  const sshDir = sshControlDir(config.dataDir);
  if (sshDir) await closeSshConnections(sshDir);
  // which sandbox the code under test gets, and secret files others can read: refused where the sandbox does not hide them (docs/security.md)
  const sandbox = await sandboxStartupReport(sandboxSettings(config));
  if (sandbox.refusals.length > 0) throw new ConfigError(sandbox.refusals);
  if (sandbox.problem) log.error({ problem: sandbox.problem }, "the sandbox cannot run: every build will error");
  else log.info({ sandbox: sandbox.description }, "code under test sandbox");
  for (const warning of sandbox.warnings) log.warn({ warning }, "sandbox warning");
  // what holds each build to CI_BUILD_* (docs/security.md: Limits)
  const layout = await buildCgroupLayout();
  if (layout.kind === "none")
    log.warn(
      { reason: layout.reason },
      "no cgroup for builds: memory and processes are bounded per process (rlimits), not per build",
    );
  else log.info({ cgroups: layout.kind, limits: config.buildLimits }, "each build gets a cgroup of its own");
  // who starts the builds' processes (docs/operations.md: Starting processes)
  if (await spawnHelper()) log.info("processes are started by the spawn helper (python/pyci_spawner.py)");
  else
    log.warn(
      "processes are started by the server itself: the spawn helper is off or cannot run here (python3 3.9+ on Linux 5.3+)",
    );

  // 3. registration: without App credentials or a repository webhook's token
  const appMode = !!options.appId && !!options.privateKey;
  if (!appMode && !options.githubToken) {
    if (config.production) {
      throw new ConfigError([
        options.appId
          ? "The App's private key is missing. Set PRIVATE_KEY, or PRIVATE_KEY_PATH to the .pem file from the GitHub App's settings."
          : "APP_ID is missing. Set it to your GitHub App's id (or, for a repository webhook without an App, set CI_GITHUB_TOKEN).",
      ]);
    }
    // GitHub creates the App from pyci's manifest and sends the browser back with its credentials
    const registration = createHttpServer({
      log,
      maxBodyBytes: WEBHOOK_BODY_CAP,
      routes: [
        registrationRoutes({
          webhookUrl: options.webhookProxy ?? `${config.publicUrl}${options.webhookPath}`,
          publicUrl: config.publicUrl,
          baseUrl: options.baseUrl,
          cwd: process.cwd(),
          log,
        }),
      ],
    });
    const address = await listen(registration, options.host, options.port);
    log.info(`No GitHub App credentials (APP_ID, PRIVATE_KEY): register the App at ${config.publicUrl}/probot`);
    log.info(`Listening on http://${address}`);
    shutDownOnSignals({
      server: registration,
      log,
      stopDeliveries: () => undefined,
      stopBuilds: stopSpawnHelper,
    });
    return;
  }

  // 4. the app; builds a killed or crashed run left queued or running are resumed (docs/operations.md: The queue, restarts and shutdown)
  // a GitHub App's deliveries, or a repository webhook's with one token (docs/github-app.md: Without a GitHub App)
  const probot = new Probot({
    ...(appMode ? { appId: options.appId, privateKey: options.privateKey } : { githubToken: options.githubToken }),
    secret: options.secret,
    baseUrl: options.baseUrl,
    redisConfig: options.redisConfig,
    log,
    Octokit: PyciOctokit,
  });
  const appRoutes: Route[] = [];
  const control: AppControl = {};
  if (!appMode) log.info("no GitHub App: builds report commit statuses with CI_GITHUB_TOKEN (no check runs)");
  const app = createApp(config, {
    auth: appMode ? "installation" : "token",
    secrets: [...secretsOf(options), ...knownSecrets(process.env, config.sshKeyPath)],
    resumeInterrupted: true,
    control,
  });
  await probot.load(app, { cwd: process.cwd(), addHandler: (route) => appRoutes.push(route) });

  // 5. the HTTP server
  let closing = false;
  const deliveries = {
    secret: options.secret,
    receive: (delivery: VerifiedDelivery) => control.receive!(delivery),
    log,
    maxBodyBytes: WEBHOOK_BODY_CAP,
    budget: new BodyBudget(config.webhookBufferBytes),
    closing: () => closing,
  };
  // WEBHOOK_PATH takes every delivery; /build and /docs are the specification's endpoints
  const webhooks = [webhookRoute({ ...deliveries, path: options.webhookPath }), ...specEndpoints(deliveries)];
  const server = createHttpServer({ log, maxBodyBytes: WEBHOOK_BODY_CAP, routes: [...webhooks, ...appRoutes] });
  const address = await listen(server, options.host, options.port);
  log.info(`Listening on http://${address}`);
  if (options.webhookProxy) {
    await startWebhookProxy({ url: options.webhookProxy, target: `http://${address}${options.webhookPath}`, log });
  }

  // 6. signals
  shutDownOnSignals({
    server,
    log,
    stopDeliveries: () => (closing = true),
    stopBuilds: async () => {
      await control.shutdown?.(config.shutdownGraceMs);
      if (sshDir) await closeSshConnections(sshDir);
      await stopSpawnHelper();
    },
  });
}

/** Masked in every stored log: the webhook secret, the token and the private key, line by line (logs are masked a line at a time). */
function secretsOf(options: ServerOptions): string[] {
  const keyLines = (options.privateKey ?? "")
    .split("\n")
    .filter((line) => line.length >= 16 && !line.startsWith("-----"));
  return [options.secret, options.githubToken ?? "", ...keyLines].filter((s) => s !== "" && s !== "development");
}

/** Resolves with `host:port` once listening; rejects with a hint when the port is taken. */
function listen(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRINUSE")
        error.message = `Port ${port} is already in use. Set the PORT environment variable to use a different port.`;
      reject(error);
    });
    server.listen({ host, port }, () => {
      const bound = server.address();
      if (typeof bound !== "object" || bound === null) return resolve(`${host}:${port}`);
      resolve(bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`);
    });
  });
}

/** `pyci serve` / `npm start`: the server, until SIGTERM/SIGINT; a configuration that cannot run exits 1, saying why. */
export async function serve(): Promise<void> {
  process.on("unhandledRejection", (reason) => {
    console.error("pyci: unhandled rejection (the server keeps running):", reason);
  });
  await main().catch((error: unknown) => {
    console.error(error instanceof ConfigError ? error.message : error);
    process.exit(1);
  });
}

if (isMain(import.meta.url)) void serve();
