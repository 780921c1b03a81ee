import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { startRedis, type TestRedis } from "../test/support/redis-server.js";
import { processesUnder, type ServerProcess } from "../test/support/server-process.js";
import { startReadyWorker, workerEnv } from "../test/support/worker-process.js";
import { startBenchServer, type BenchServer } from "./bench-server.js";
import type { Harness } from "./harness.js";

/** A real redis-server, the server handing builds to it (CI_REDIS_URL), and `pyci worker` processes started on demand. */
export interface ScaleCluster {
  redis: TestRedis;
  server: BenchServer;
  workers: ServerProcess[];
  /** Starts `pyci worker` named `name` with CI_CONCURRENCY `concurrency`; resolves once it says it is ready. */
  addWorker(name: string, concurrency: number): Promise<ServerProcess>;
  /** SIGTERM to the worker, then the build processes it left. */
  stopWorker(worker: ServerProcess): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The scale-out topology of docs/scale-out.md on this machine: Redis with a password and AOF, the
 * server with no SSH key (it clones nothing), workers with the harness's SSH key and a data and
 * work dir each under the harness root, as separate hosts would have.
 */
export async function startScaleCluster(h: Harness, name: string): Promise<ScaleCluster> {
  const redis = await startRedis();
  const server = await startBenchServer(h, name, { CI_REDIS_URL: redis.url });
  const workers: ServerProcess[] = [];
  const workDirs = new Map<ServerProcess, string>();
  const stopWorker = async (worker: ServerProcess) => {
    await worker.stop();
    for (const leftover of processesUnder(workDirs.get(worker)!)) {
      try {
        process.kill(leftover, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  return {
    redis,
    server,
    workers,
    async addWorker(workerName, concurrency) {
      const base = join(h.root, name, workerName);
      const [dataDir, workDir, cwd] = ["data", "work", "cwd"].map((d) => join(base, d)) as [string, string, string];
      for (const dir of [dataDir, workDir, cwd]) mkdirSync(dir, { recursive: true });
      const setting = { redisUrl: redis.url, name: workerName, dataDir, workDir, sshd: h.sshd };
      const worker = await startReadyWorker(
        workerEnv(setting, {
          CI_CONCURRENCY: String(concurrency),
          // as `npm start` sets it (docs/operations.md), as for the bench's server
          MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2",
          CI_SHUTDOWN_GRACE: "1",
        }),
        cwd,
        30_000,
      );
      workDirs.set(worker, workDir);
      workers.push(worker);
      return worker;
    },
    stopWorker,
    async stop() {
      await Promise.allSettled(workers.map(stopWorker));
      await server.stop();
      await redis.stop();
    },
  };
}
