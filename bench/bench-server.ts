import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  freePort,
  processesUnder,
  spawnServer,
  waitUntilServing,
  type ServerProcess,
} from "../test/support/server-process.js";
import { APP_ID, type Harness } from "./harness.js";

export interface BenchServer {
  process: ServerProcess;
  url: string;
  hookUrl: string;
  pid: number;
  dataDir: string;
  workDir: string;
  /** The server process's resident set (VmRSS), in bytes. */
  rss(): number;
  /** Its resident set by kind, in bytes: anonymous (heaps, malloc) and file-backed (node's binary and libraries, mapped files). */
  rssParts(): { anon: number; file: number };
  /** GET /api/builds/<id> with the admin token. */
  build(id: string): Promise<BuildJson>;
  /** SIGTERM (SIGKILL after 3 s; `kill -9` at once when `hard`), then the build processes it left. */
  stop(hard?: boolean): Promise<void>;
}

/** The parts of GET /api/builds/<id> the benchmark reads. */
export interface BuildJson {
  id: string;
  state: string;
  steps: { name: string; state: string; summary: string; durationMs: number; [more: string]: unknown }[];
}

/**
 * `node dist/server.js` as production runs it (`npm start`): NODE_ENV=production, MALLOC_ARENA_MAX=2, --max-semi-space-size=2, clones over SSH from the harness's
 * sshd (CI_CLONE_PROTOCOL=ssh), reports to the fake GitHub (GHE_HOST), its own CI_DATA_DIR and CI_WORK_DIR
 * under the harness root. Other settings are the defaults (CI_CONCURRENCY = CPU count); `env` adds or overrides some
 * (CI_REDIS_URL: the server hands its builds to workers).
 */
export async function startBenchServer(
  h: Harness,
  name: string,
  env: Record<string, string> = {},
): Promise<BenchServer> {
  const dataDir = join(h.root, name, "data");
  const workDir = join(h.root, name, "work");
  const cwd = join(h.root, name, "cwd");
  for (const dir of [dataDir, workDir, cwd]) mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = spawnServer(
    {
      NODE_ENV: "production",
      APP_ID: String(APP_ID),
      PRIVATE_KEY: h.privateKey,
      WEBHOOK_SECRET: h.secret,
      PORT: String(port),
      HOST: "127.0.0.1",
      GHE_HOST: h.fake.host,
      GHE_PROTOCOL: "http",
      CI_PUBLIC_URL: url,
      CI_DATA_DIR: dataDir,
      CI_WORK_DIR: workDir,
      CI_CLONE_PROTOCOL: "ssh",
      CI_SSH_KEY_PATH: h.sshd.clientKeyPath,
      CI_SSH_KNOWN_HOSTS: h.sshd.knownHostsPath,
      CI_ADMIN_TOKEN: h.adminToken,
      LOG_LEVEL: "info",
      PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
      // as `npm start` sets it (docs/operations.md)
      MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2",
      CI_SHUTDOWN_GRACE: "1",
      ...env,
    },
    cwd,
    // BENCH_NODE_ARGS: node's options for the server, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" (a CPU profile when it stops)
    // or "--heapsnapshot-signal=SIGUSR2" (a heap snapshot in its cwd at each SIGUSR2)
    // npm start's and the pyci bin's node options (a small young generation: ~15 MB less RSS), then BENCH_NODE_ARGS
    ["--max-semi-space-size=2", ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? [])],
  );
  await waitUntilServing(server, "/ping");
  const pid = server.child.pid!;
  return {
    process: server,
    url,
    hookUrl: `${url}/api/github/webhooks`,
    pid,
    dataDir,
    workDir,
    rss: () => vmRss(pid),
    rssParts: () => ({ anon: statusKb(pid, "RssAnon") * 1024, file: statusKb(pid, "RssFile") * 1024 }),
    async build(id) {
      const res = await fetch(`${url}/api/builds/${id}`, { headers: { authorization: `Bearer ${h.adminToken}` } });
      if (!res.ok) throw new Error(`GET /api/builds/${id} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as BuildJson;
    },
    async stop(hard = false) {
      await (hard ? server.kill9() : server.stop());
      // each build step runs in a process group of its own: a killed server can leave them behind
      for (const leftover of processesUnder(workDir)) {
        try {
          process.kill(leftover, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}

function vmRss(pid: number): number {
  return statusKb(pid, "VmRSS") * 1024;
}

function statusKb(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!match) throw new Error(`no ${field} for process ${pid}`);
  return Number(match[1]);
}
