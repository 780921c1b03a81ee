import { createHash } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readlinkSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** `dist/server.js`: run `npm run build` first. */
export const SERVER = fileURLToPath(new URL("../../dist/server.js", import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** SIGTERM, then SIGKILL after 3 s. */
  stop(): Promise<void>;
  /** `kill -9`: no chance to clean up or report anything. */
  kill9(): Promise<void>;
}

/** `dist/cli.js`, the `pyci` command (`pyci worker`). */
export const CLI = fileURLToPath(new URL("../../dist/cli.js", import.meta.url));

/** `node dist/server.js` in `cwd` with exactly `env` (nothing inherited); `env.PORT` is where it listens on 127.0.0.1. */
export function spawnServer(env: Record<string, string>, cwd: string, nodeArgs: string[] = []): ServerProcess {
  return spawnPyci([...nodeArgs, SERVER], env, cwd);
}

/** `node dist/cli.js worker` in `cwd` with exactly `env`: a pyci worker, whose `url` means nothing. */
export function spawnWorker(env: Record<string, string>, cwd: string): ServerProcess {
  return spawnPyci([CLI, "worker"], env, cwd);
}

/** node with `args`, with exactly `env` and build uids of its own (from CI_DATA_DIR): see sandboxUids. */
function spawnPyci(args: string[], env: Record<string, string>, cwd: string): ServerProcess {
  const withUids = { ...env, CI_SANDBOX_UIDS: env.CI_SANDBOX_UIDS ?? sandboxUids(env.CI_DATA_DIR ?? cwd) };
  const child = spawn(process.execPath, args, {
    cwd,
    env: withUids,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  void exited.then(() => process.removeListener("exit", reap));
  const server: ServerProcess = {
    child,
    url: `http://127.0.0.1:${env.PORT}`,
    output: () => output,
    exited,
    alive: () => child.exitCode === null && child.signalCode === null,
    async stop() {
      if (!server.alive()) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      child.kill("SIGKILL");
      await exited;
    },
  };
  return server;
}

/** Resolves once the server answers GET `path`; rejects if it exits first or after timeoutMs. */
export async function waitUntilServing(server: ServerProcess, path: string, timeoutMs = 20_000): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!server.alive()) throw new Error(`the server exited before serving:\n${server.output()}`);
    try {
      return await fetch(`${server.url}${path}`, { signal: AbortSignal.timeout(1000) });
    } catch {
      await sleep(100);
    }
  }
  throw new Error(`the server did not answer within ${timeoutMs} ms:\n${server.output()}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function eventually(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(100);
  }
}

/**
 * Processes working in `dir` (their cwd, or a path in their command line): what a killed server's build
 * steps leave running, since each runs in a process group of its own. Linux only (/proc).
 */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cwd = readlinkSync(join("/proc", entry, "cwd"));
      const cmdline = readFileSync(join("/proc", entry, "cmdline"), "utf8");
      if (cwd.startsWith(dir) || cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

/**
 * A range of build uids of this server's own, the same for the same data
 * dir (a restarted server must find what its predecessor left): servers of
 * test files running side by side must not kill each other's builds, as
 * each kills every process of its range at start-up.
 */
export function sandboxUids(key: string): string {
  const slot = createHash("sha256").update(key).digest().readUInt32BE(0) % 100_000;
  const first = 1_000_000 + slot * 1_000;
  return `${first}-${first + 999}`;
}

/**
 * What every test server runs with, as production does: NODE_ENV=production,
 * on loopback, against the fake GitHub over HTTP (GHE_HOST is the test's),
 * logging at info, with the test's PATH. Spread it first; the test adds the rest.
 */
export function productionEnv(): Record<string, string> {
  return {
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    GHE_PROTOCOL: "http",
    LOG_LEVEL: "info",
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
  };
}
