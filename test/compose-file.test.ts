import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { connect } from "node:net";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadConfig } from "../src/config.js";
import { packageFile } from "../src/package-files.js";
import { REDIS_SERVER, redisMissing } from "./support/redis-server.js";
import { freePort } from "./support/server-process.js";
import { until } from "./support/until.js";

/**
 * compose.yaml as compose reads it (no registry of images can be reached here, so nothing is pulled):
 * the plain `up` is still one machine; the `scale-out` profile's worker runs `pyci worker` on the
 * server's image with a Redis URL that config.ts accepts for a worker and nothing of the App; and
 * the Redis service's own command, run with the real redis-server, asks for exactly that password
 * and keeps an append-only file.
 */

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: unknown;
  profiles?: string[];
  volumes?: string[];
  security_opt?: string[];
  stop_grace_period?: string;
  healthcheck?: { disable?: boolean };
}

const compose = parse(readFileSync(packageFile("compose.yaml"), "utf8")) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { pyci, redis, worker } = compose.services as Record<string, Service>;
/** The image's ENV (Dockerfile), which every service runs with. */
const IMAGE_ENV = { NODE_ENV: "production", HOST: "0.0.0.0", PORT: "3000", CI_DATA_DIR: "/var/lib/pyci" };

/** Compose's interpolation of ${NAME:-default} from `vars`, and of $$ (a literal $). */
function interpolate(text: string, vars: Record<string, string>): string {
  return text
    .replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_, name: string, fallback?: string) => vars[name] || fallback || "")
    .replaceAll("$$", "$");
}

describe("compose.yaml", () => {
  it("runs one machine without a profile, and Redis with workers in the scale-out profile", () => {
    const plain = Object.entries(compose.services).filter(([, s]) => !s.profiles);
    expect(plain.map(([name]) => name)).toEqual(["pyci"]);
    expect(pyci!.environment?.CI_REDIS_URL).toBeUndefined();
    expect(redis!.profiles).toEqual(["scale-out"]);
    expect(worker!.profiles).toEqual(["scale-out"]);
    expect(redis!.volumes).toContain("redis-data:/data");
    expect(Object.keys(compose.volumes)).toContain("redis-data");
  });

  it("runs `pyci worker` on the server's image with Redis's URL and none of the App's secrets", () => {
    expect(worker!.image).toBe(pyci!.image);
    expect(worker!.command).toEqual(["pyci", "worker"]);
    // no .env (the App's key, webhook secret, admin token) and no server secrets directory
    expect(worker!.env_file).toBeUndefined();
    expect(JSON.stringify(worker!.volumes ?? [])).not.toContain("./secrets");
    const env = Object.fromEntries(
      Object.entries(worker!.environment ?? {}).map(([k, v]) => [k, interpolate(v, { REDIS_PASSWORD: "s3cret" })]),
    );
    for (const name of ["PRIVATE_KEY", "PRIVATE_KEY_PATH", "WEBHOOK_SECRET", "CI_ADMIN_TOKEN"])
      expect(env[name]).toBeUndefined();
    // what config.ts makes of it, as `pyci worker` would
    const config = loadConfig({ ...IMAGE_ENV, ...env }, "worker");
    expect(config.redisUrl).toBe("redis://:s3cret@redis:6379");
    expect(new URL(config.redisUrl!).hostname).toBe("redis");
    // without the password it says so rather than starting
    expect(() =>
      loadConfig({ ...IMAGE_ENV, CI_REDIS_URL: interpolate(worker!.environment!.CI_REDIS_URL!, {}) }, "worker"),
    ).toThrow(/CI_REDIS_URL/);
    // a worker serves no /healthz; it gets the sandbox options and the stop grace of the server
    expect(worker!.healthcheck).toEqual({ disable: true });
    expect(worker!.security_opt).toEqual(pyci!.security_opt);
    expect(worker!.stop_grace_period).toBe(pyci!.stop_grace_period);
  });

  const skip = redisMissing();
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it.skipIf(skip)("starts Redis with the worker's password and AOF on, the password on no command line", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyci-compose-redis-"));
    dirs.push(dir);
    const port = await freePort();
    const password = randomBytes(16).toString("hex");
    // the service's command, moved from the container's paths to this test's, without the image's entrypoint
    const script = interpolate(redis!.command![2]!, {})
      .replaceAll("/tmp/redis.conf", join(dir, "redis.conf"))
      .replaceAll("dir /data", `dir ${dir}`)
      .replace("docker-entrypoint.sh redis-server", `${REDIS_SERVER}`)
      .replace(/redis\.conf$/, `redis.conf --port ${port} --bind 127.0.0.1`);
    expect(redis!.command!.slice(0, 2)).toEqual(["sh", "-c"]);
    const child = spawn("sh", ["-c", script], {
      env: { PATH: process.env.PATH, ...interpolateEnv(redis!.environment ?? {}, { REDIS_PASSWORD: password }) },
      stdio: "ignore",
    });
    const url = interpolate(worker!.environment!.CI_REDIS_URL!, { REDIS_PASSWORD: password }).replace(
      "@redis:6379",
      `@127.0.0.1:${port}`,
    );
    try {
      const client = await until("redis-server from compose.yaml's command answers", 10_000, async () => {
        const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on("error", () => undefined);
        try {
          await c.connect();
          return (await c.ping()) === "PONG" ? c : undefined;
        } catch {
          c.disconnect();
          return undefined;
        }
      });
      expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "yes"]);
      client.disconnect();
      expect(await rawReply(port, "PING\r\n")).toMatch(/^-NOAUTH/);
      expect(readFileSync(`/proc/${child.pid}/cmdline`, "utf8")).not.toContain(password);
    } finally {
      child.kill("SIGTERM");
    }
  });
});

/** The first line Redis answers `command` with, on a connection that never authenticated. */
function rawReply(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(command));
    socket.setEncoding("utf8").once("data", (data: string) => {
      socket.destroy();
      resolve(data.split("\r\n")[0]!);
    });
    socket.once("error", reject);
  });
}

function interpolateEnv(env: Record<string, string>, vars: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, interpolate(v, vars)]));
}
