import { hostname } from "node:os";
import { cloneEachBuild } from "../builds/clone-each-build.js";
import { localExecutor } from "../builds/local-executor.js";
import { ownerEnded } from "../checkout/workspace.js";
import { ConfigError, loadConfig, type Config } from "../config.js";
import { killLeftoverProcesses } from "../process/kill-leftover-processes.js";
import { sandboxSettings } from "../process/sandbox/sandbox-settings.js";
import { knownSecrets } from "../secrets/known-secrets.js";
import { createServerLog } from "../server-log.js";
import type { Output } from "./progress.js";

export const WORKER_USAGE = `Usage: pyci worker

Runs builds the server hands out through Redis (docs/scale-out.md), on this
machine, CI_CONCURRENCY at a time, until SIGTERM/SIGINT. Reads the
environment: CI_REDIS_URL (required: redis://:password@host:6379, or
rediss:// for TLS), CI_WORKER_NAME (default <hostname>-<pid>), CI_WORKER_LABELS
(comma-separated labels such as py312,big: the worker also takes the builds
whose runs_on in .github/pyci.yml lists only labels it has; each a lowercase
name of letters, digits and . _ -), CI_CONCURRENCY (builds at once, in all),
CI_WORKER_LOCK (seconds a killed worker holds its builds, default 30),
CI_WORK_DIR, CI_DATA_DIR (this worker's caches), CI_SANDBOX, CI_PYTHON,
CI_SSH_KEY_PATH and CI_SSH_KNOWN_HOSTS (SSH clones with the worker's own key;
without them it clones over HTTPS with a token the server mints for each build:
one repository, read only). On SIGTERM it takes no new build; running ones get CI_SHUTDOWN_GRACE
seconds, then go back to the queue for another worker. A worker needs no App
key, webhook secret or admin token.`;

/** What a worker must not be given: the server's credentials (the worker needs none of them). */
const SERVER_ONLY = ["PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "CI_ADMIN_TOKEN", "CI_GITHUB_TOKEN"];

/**
 * `pyci worker`:
 * 1. reads the settings (every problem at once) and names the worker;
 * 2. kills what an earlier worker left running in its checkouts;
 * 3. takes builds from Redis and runs them with the same executor as the server would
 *    (clone, pipeline, sandbox), until SIGTERM/SIGINT; then the running ones get CI_SHUTDOWN_GRACE
 *    to finish before they go back to the queue for another worker, and it exits.
 * Resolves with an exit code for a configuration that cannot run, else never (the process
 * exits from the signal handler).
 */
export async function workerCommand(
  args: string[],
  out: Output,
  err: Output,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number | undefined> {
  if (args.includes("--help") || args.includes("-h")) {
    out.write(`${WORKER_USAGE}\n`);
    return 0;
  }
  if (args.length > 0) {
    err.write(`pyci: worker takes no arguments (${args.join(" ")})\n`);
    return 2;
  }
  // 1. settings
  let config: Config;
  try {
    config = loadConfig(env, "worker");
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err.write(`${error.message}\n`);
    return 1;
  }
  const name = env.CI_WORKER_NAME?.trim() || `${hostname()}-${process.pid}`;
  const log = (await createServerLog(env)).child({ worker: name });
  const given = SERVER_ONLY.filter((variable) => env[variable]?.trim());
  if (given.length > 0)
    log.warn({ variables: given }, "a worker needs none of these server credentials: remove them from its environment");

  // 2. what an earlier worker left
  const killed = killLeftoverProcesses(config.workDir, ownerEnded);
  if (killed.length > 0) log.warn({ pids: killed }, "killed processes an earlier pyci left running in its checkouts");

  // 3. the builds
  // BullMQ is loaded for `pyci worker` alone: `pyci serve` without Redis does without its 15 MB
  const { startWorker } = await import("../workers/start-worker.js");
  const running = await startWorker({
    redisUrl: config.redisUrl!,
    name,
    labels: config.workerLabels,
    concurrency: config.concurrency,
    lockMs: config.workerLockMs,
    stepOutputCapBytes: config.stepOutputCapBytes,
    log,
    executor: localExecutor({
      config,
      secrets: knownSecrets(env, config.sshKeyPath),
      codeSource: cloneEachBuild(config),
      sandbox: () => sandboxSettings(config),
    }),
  });
  const stop = (signal: string) => {
    log.info({ signal, graceMs: config.shutdownGraceMs }, "stopping: no new builds, running ones finish or go back");
    running.close(config.shutdownGraceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, "could not stop cleanly");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
  return undefined;
}
