import { eventually, productionEnv, spawnWorker, type ServerProcess } from "./server-process.js";
import type { TestSshd } from "./sshd.js";

/** What sets one `pyci worker` apart, as a machine of its own would have it. */
export interface WorkerSetting {
  /** CI_REDIS_URL: where it takes builds from. */
  redisUrl: string;
  /** CI_WORKER_NAME. */
  name: string;
  dataDir: string;
  workDir: string;
  /** Clones with this sshd's client key and known_hosts; without it the worker has no SSH key (HTTPS clones). */
  sshd?: TestSshd;
}

/**
 * A `pyci worker`'s whole environment: production's base (productionEnv), Redis, its name, one build
 * at a time, its own data and work dirs, the SSH key when given — nothing of the App (no App key,
 * webhook secret or admin token). `extra` adds or overrides.
 */
export function workerEnv(setting: WorkerSetting, extra: Record<string, string> = {}): Record<string, string> {
  const { sshd } = setting;
  return {
    ...productionEnv(),
    CI_REDIS_URL: setting.redisUrl,
    CI_WORKER_NAME: setting.name,
    CI_CONCURRENCY: "1",
    CI_DATA_DIR: setting.dataDir,
    CI_WORK_DIR: setting.workDir,
    ...(sshd ? { CI_SSH_KEY_PATH: sshd.clientKeyPath, CI_SSH_KNOWN_HOSTS: sshd.knownHostsPath } : {}),
    ...extra,
  };
}

/**
 * `pyci worker` with exactly `env` in `cwd`, once its log says it is ready. Rejects with its output
 * when it exits first or is not ready within `timeoutMs` (then it is stopped: nothing is left running).
 */
export async function startReadyWorker(
  env: Record<string, string>,
  cwd: string,
  timeoutMs = 20_000,
): Promise<ServerProcess> {
  const worker = spawnWorker(env, cwd);
  try {
    await eventually(() => worker.output().includes("pyci worker ready") || !worker.alive(), timeoutMs, "worker ready");
  } catch (error) {
    await worker.stop();
    throw new Error(`${(error as Error).message}: pyci worker ${env.CI_WORKER_NAME}:\n${worker.output()}`);
  }
  if (!worker.alive())
    throw new Error(`pyci worker ${env.CI_WORKER_NAME} exited before it was ready:\n${worker.output()}`);
  return worker;
}

/** Builds a worker's log says it took (JSON lines, as in production), or took of build `buildId`. */
export function buildsTaken(output: string, buildId?: string): number {
  return output
    .split("\n")
    .filter((line) => line.includes('"msg":"build taken"') && (!buildId || line.includes(`"buildId":"${buildId}"`)))
    .length;
}
