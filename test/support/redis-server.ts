import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./server-process.js";
import { until } from "./until.js";

export const REDIS_SERVER = "/usr/bin/redis-server";

/** Why tests of scale-out cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  return existsSync(REDIS_SERVER)
    ? undefined
    : `${REDIS_SERVER} is missing: install Debian's redis-server (apt-get install -y redis-server) to run the scale-out tests`;
}

export interface TestRedis {
  /** redis://:<password>@127.0.0.1:<port>, as CI_REDIS_URL. */
  url: string;
  password: string;
  port: number;
  dir: string;
  /** `kill -9`: Redis gets no chance to write anything more (what it acknowledged is in its AOF). */
  kill9(): Promise<void>;
  /** Starts redis-server again on the same port, password and data dir (after kill9). */
  restart(): Promise<void>;
  /** Stops it and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * A real redis-server on a free loopback port, with a password (requirepass), its own data dir and
 * AOF persistence on, as docs/scale-out.md asks of a production one; no config file of the host's.
 */
export async function startRedis(): Promise<TestRedis> {
  const dir = mkdtempSync(join(tmpdir(), "pyci-redis-"));
  const port = await freePort();
  const password = randomBytes(16).toString("hex");
  const url = `redis://:${password}@127.0.0.1:${port}`;
  let running = await spawnRedis(port, dir, password, url);
  return {
    url,
    password,
    port,
    dir,
    async kill9() {
      await running.kill("SIGKILL");
    },
    async restart() {
      running = await spawnRedis(port, dir, password, url);
    },
    async stop() {
      await running.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One redis-server process on `port` with its data in `dir`, once it answers PING. */
async function spawnRedis(
  port: number,
  dir: string,
  password: string,
  url: string,
): Promise<{ kill(signal: NodeJS.Signals): Promise<void> }> {
  const child = spawn(
    REDIS_SERVER,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--save",
      "",
      "--requirepass",
      password,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  await until(`redis-server answers on port ${port}:\n${output}`, 10_000, async () => {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return (await client.ping()) === "PONG" ? true : undefined;
    } finally {
      client.disconnect();
    }
  });
  return {
    async kill(signal) {
      child.kill(signal);
      await exited;
      process.removeListener("exit", reap);
    },
  };
}
