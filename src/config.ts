import { accessSync, constants, existsSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { resolve } from "node:path";
import { parseUidRange, type UidRange } from "./process/sandbox/uid-range.js";
import { DEFAULT_BUILD_LIMITS, type BuildLimits } from "./process/limits/build-limits.js";
import { packageFile } from "./package-files.js";
import { labelProblem, labelSet } from "./model/worker-labels.js";

/** pyci's own settings, parsed and validated once at start-up. Probot reads its own variables. */
export interface Config {
  production: boolean;
  /** Base URL of this server, without a trailing slash. */
  publicUrl: string;
  dataDir: string;
  workDir: string;
  cloneProtocol: "ssh" | "https";
  sshKeyPath?: string;
  knownHostsPath: string;
  concurrency: number;
  stepTimeoutMs: number;
  python: string;
  /** Docs releases pyci keeps per repository (CI_DOCS_RELEASES_KEEP, default 10). */
  docsReleasesKeep: number;
  /** Finished builds (records, logs, artifacts) are deleted this many days after they were created (CI_RETENTION_DAYS, default 90). */
  retentionDays: number;
  /** Only the newest this-many builds are kept (CI_RETENTION_BUILDS, default 10000); queued and running builds are never deleted. */
  retentionBuilds: number;
  /**
   * The token for the build list, the JSON API and /metrics (CI_ADMIN_TOKEN). Without it the list and
   * the API answer 404 and /metrics is open; the per-build pages are capability URLs either way.
   */
  adminToken?: string;
  /** Whether /badge/<owner>/<repo>.svg answers anyone (CI_PUBLIC_BADGES=true); default false: 404. */
  publicBadges: boolean;
  /** On SIGTERM, running steps get this long to finish before they are stopped and their builds re-queued (CI_SHUTDOWN_GRACE seconds, default 60). */
  shutdownGraceMs: number;
  /** What a pull request from a fork gets (CI_FORK_POLICY): built at once, skipped, or built once a maintainer approves its head commit (default). */
  forkPolicy: "run" | "skip" | "approve";
  /** How the code under test is confined (CI_SANDBOX): bubblewrap, an unprivileged user, whichever works ("auto", default), or not at all ("off"). */
  sandbox: "auto" | "bwrap" | "user" | "off";
  /** The uids builds run as when the server runs as root, one per running build (CI_SANDBOX_UIDS, default 900000-965535): no account's. */
  sandboxUids: UidRange;
  /** Output stored per step; past it the head and the tail are kept (CI_STEP_OUTPUT_CAP MiB, default 32). */
  stepOutputCapBytes: number;
  /** A build does not clone with less free disk than this in CI_WORK_DIR (CI_MIN_FREE_DISK MiB, default 1024). */
  minFreeDiskBytes: number;
  /** Size bound of the git object cache, the result cache and the environment cache in CI_DATA_DIR (CI_CACHE_MAX_SIZE MiB, default 5120). */
  cacheMaxBytes: number;
  /** Whether the install and docs steps reuse virtualenvs of earlier builds (CI_ENV_CACHE=on, default, or off). */
  envCache: boolean;
  /** Bytes of webhook bodies held at once before their signature is checked (CI_WEBHOOK_BUFFER MiB, default 64, at least 25: GitHub's largest payload). */
  webhookBufferBytes: number;
  /** Live-log (Server-Sent Events) connections per build (CI_LIVE_CLIENTS_PER_BUILD, default 20) and in all (CI_LIVE_CLIENTS, default 200). */
  liveClientsPerBuild: number;
  liveClients: number;
  /** What one build may use: CI_BUILD_MEMORY, CI_BUILD_PROCESSES, CI_BUILD_TMP, CI_BUILD_DISK (see build-limits.ts). */
  buildLimits: BuildLimits;
  /**
   * CI_REDIS_URL (a secret: it holds Redis's password): set, the server hands builds to `pyci worker`s
   * through BullMQ on this Redis instead of running them (docs/scale-out.md); a worker needs it.
   */
  redisUrl?: string;
  /**
   * `pyci worker`: how long its hold on a build lasts without renewal (CI_WORKER_LOCK seconds,
   * default 30); a killed worker's builds go to another worker within about twice this.
   */
  workerLockMs: number;
  /** `pyci worker`: its labels (CI_WORKER_LABELS, comma-separated): it takes the builds whose `runs_on` it has, sorted. */
  workerLabels: string[];
  /**
   * CI_SERVER_BUILDS (with CI_REDIS_URL; default false): the server also takes builds from the
   * workers' queues, CI_CONCURRENCY at a time with CI_WORKER_LABELS, as a worker of its own.
   */
  serverBuilds: boolean;
}

/** Who reads the settings: the server (`pyci serve`), or `pyci worker`, which has no App and no webhook. */
export type ConfigRole = "server" | "worker";

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`pyci cannot start, its configuration is invalid:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** GitHub.com's published SSH host keys, shipped with the package. */
export const GITHUB_KNOWN_HOSTS = packageFile("known_hosts");

/** CI_WEBHOOK_BUFFER's least value, in MiB: one body of GitHub's largest size must fit (WEBHOOK_BODY_CAP). */
const WEBHOOK_BUFFER_MIN = 25;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, role: ConfigRole = "server"): Config {
  const problems: string[] = [];
  const production = env.NODE_ENV === "production";
  const server = role === "server";

  const secret = env.WEBHOOK_SECRET;
  if (server && production && (!secret || secret === "development")) {
    problems.push(
      'WEBHOOK_SECRET is missing (or is Probot\'s default "development"). Set it to the webhook secret of your GitHub App; pyci does not accept unsigned deliveries in production.',
    );
  }
  if (server && env.PRIVATE_KEY_PATH && !readable(env.PRIVATE_KEY_PATH)) {
    problems.push(
      `PRIVATE_KEY_PATH=${env.PRIVATE_KEY_PATH} cannot be read. Point it at the .pem file downloaded from your GitHub App's settings.`,
    );
  }

  const port = env.PORT ?? "3000";
  let publicUrl = env.CI_PUBLIC_URL?.trim();
  if (!publicUrl) {
    if (server && production)
      problems.push(
        "CI_PUBLIC_URL is missing. Set it to the base URL where GitHub users can reach this server (e.g. https://ci.example.com); status and check-run links point there.",
      );
    publicUrl = `http://localhost:${port}`;
  } else if (!isHttpUrl(publicUrl)) {
    problems.push(`CI_PUBLIC_URL=${publicUrl} is not an http(s) URL.`);
  }

  const sshKeyPath = env.CI_SSH_KEY_PATH?.trim() || undefined;
  if (sshKeyPath && !readable(sshKeyPath)) {
    problems.push(
      `CI_SSH_KEY_PATH=${sshKeyPath} cannot be read. Point it at the private key of a deploy key (or machine user) that can clone your repositories.`,
    );
  }
  const protocol = env.CI_CLONE_PROTOCOL?.trim() || (sshKeyPath ? "ssh" : "https");
  if (protocol !== "ssh" && protocol !== "https") {
    problems.push(`CI_CLONE_PROTOCOL=${protocol} is not supported; use "ssh" or "https".`);
  } else if (protocol === "ssh" && !sshKeyPath) {
    problems.push("CI_CLONE_PROTOCOL=ssh needs CI_SSH_KEY_PATH (the private key to clone with).");
  }
  const knownHostsPath = env.CI_SSH_KNOWN_HOSTS?.trim() || GITHUB_KNOWN_HOSTS;
  if (!readable(knownHostsPath)) {
    problems.push(
      `CI_SSH_KNOWN_HOSTS=${knownHostsPath} cannot be read. It must hold the host keys of your git server (GitHub.com's are built in).`,
    );
  }

  const concurrency = positiveInt(env, "CI_CONCURRENCY", availableParallelism(), problems);
  const stepTimeout = positiveInt(env, "CI_STEP_TIMEOUT", 1800, problems);
  const python = env.CI_PYTHON?.trim() || "python3";
  const docsReleasesKeep = positiveInt(env, "CI_DOCS_RELEASES_KEEP", 10, problems);
  const retentionDays = positiveInt(env, "CI_RETENTION_DAYS", 90, problems);
  const retentionBuilds = positiveInt(env, "CI_RETENTION_BUILDS", 10_000, problems);
  const adminToken = env.CI_ADMIN_TOKEN || undefined;
  // the value itself is never part of a message: these go to the console
  if (adminToken !== undefined && !ADMIN_TOKEN.test(adminToken)) {
    problems.push(
      `CI_ADMIN_TOKEN must be at least 16 printable characters without spaces. Generate one with: openssl rand -hex 32`,
    );
  }
  const publicBadges = boolean(env, "CI_PUBLIC_BADGES", false, problems);
  const shutdownGrace = positiveInt(env, "CI_SHUTDOWN_GRACE", 60, problems);
  const forkPolicy = oneOf(env, "CI_FORK_POLICY", ["approve", "run", "skip"] as const, problems);
  const sandbox = oneOf(env, "CI_SANDBOX", ["auto", "bwrap", "user", "off"] as const, problems);
  const sandboxUids = parseUidRange(env.CI_SANDBOX_UIDS?.trim() || DEFAULT_SANDBOX_UIDS);
  if (!sandboxUids)
    problems.push(
      `CI_SANDBOX_UIDS=${env.CI_SANDBOX_UIDS} must be a range of uids no account uses, such as ${DEFAULT_SANDBOX_UIDS} (the first at least 1000).`,
    );
  if (env.CI_SANDBOX_USER?.trim()) {
    problems.push(
      `CI_SANDBOX_USER is no longer read: each build runs as a uid of its own from CI_SANDBOX_UIDS (default ${DEFAULT_SANDBOX_UIDS}), so that builds cannot reach each other. Remove CI_SANDBOX_USER.`,
    );
  }
  const stepOutputCap = positiveInt(env, "CI_STEP_OUTPUT_CAP", 32, problems);
  const minFreeDisk = positiveInt(env, "CI_MIN_FREE_DISK", 1024, problems);
  const cacheMax = positiveInt(env, "CI_CACHE_MAX_SIZE", 5120, problems);
  const envCache = oneOf(env, "CI_ENV_CACHE", ["on", "off"] as const, problems) === "on";
  const webhookBuffer = positiveInt(env, "CI_WEBHOOK_BUFFER", 64, problems);
  if (webhookBuffer < WEBHOOK_BUFFER_MIN) {
    problems.push(
      `CI_WEBHOOK_BUFFER=${webhookBuffer} is below ${WEBHOOK_BUFFER_MIN} (MiB): GitHub sends payloads of up to 25 MB, and those would always be refused.`,
    );
  }
  const liveClientsPerBuild = positiveInt(env, "CI_LIVE_CLIENTS_PER_BUILD", 20, problems);
  const liveClients = positiveInt(env, "CI_LIVE_CLIENTS", 200, problems);
  const buildLimits: BuildLimits = {
    memoryBytes: size(env, "CI_BUILD_MEMORY", DEFAULT_BUILD_LIMITS.memoryBytes, 64 * MIB, problems),
    processes: atLeast(env, "CI_BUILD_PROCESSES", DEFAULT_BUILD_LIMITS.processes, 16, problems),
    tmpBytes: size(env, "CI_BUILD_TMP", DEFAULT_BUILD_LIMITS.tmpBytes, 1 * MIB, problems),
    diskBytes: size(env, "CI_BUILD_DISK", DEFAULT_BUILD_LIMITS.diskBytes, 64 * MIB, problems),
  };

  const redisUrl = env.CI_REDIS_URL?.trim() || undefined;
  const workerLock = positiveInt(env, "CI_WORKER_LOCK", 30, problems);
  problems.push(...redisUrlProblems(redisUrl, role));
  const workerLabels = labelsOf(env.CI_WORKER_LABELS, problems);
  const serverBuilds = role === "server" && boolean(env, "CI_SERVER_BUILDS", false, problems);
  if (serverBuilds && !redisUrl)
    problems.push("CI_SERVER_BUILDS=true needs CI_REDIS_URL: without workers the server builds everything itself.");

  const dataDir = dataDirOf(env);
  const workDir = resolve(env.CI_WORK_DIR?.trim() || tmpdir());
  if (existsSync(workDir) && !writable(workDir)) problems.push(`CI_WORK_DIR=${workDir} is not writable.`);
  if (existsSync(dataDir) && !writable(dataDir)) problems.push(`CI_DATA_DIR=${dataDir} is not writable.`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    production,
    publicUrl: publicUrl.replace(/\/+$/, ""),
    dataDir,
    workDir,
    cloneProtocol: protocol as "ssh" | "https",
    ...(sshKeyPath ? { sshKeyPath: resolve(sshKeyPath) } : {}),
    knownHostsPath: resolve(knownHostsPath),
    concurrency,
    stepTimeoutMs: stepTimeout * 1000,
    python,
    docsReleasesKeep,
    retentionDays,
    retentionBuilds,
    ...(adminToken !== undefined ? { adminToken } : {}),
    publicBadges,
    shutdownGraceMs: shutdownGrace * 1000,
    forkPolicy,
    sandbox,
    sandboxUids: sandboxUids ?? DEFAULT_UID_RANGE,
    stepOutputCapBytes: stepOutputCap * MIB,
    minFreeDiskBytes: minFreeDisk * MIB,
    cacheMaxBytes: cacheMax * MIB,
    envCache,
    webhookBufferBytes: webhookBuffer * MIB,
    liveClientsPerBuild,
    liveClients,
    buildLimits,
    ...(redisUrl ? { redisUrl } : {}),
    workerLockMs: workerLock * 1000,
    workerLabels,
    serverBuilds,
  };
}

/** CI_REDIS_URL's problems, without its value (it holds a password): a worker needs it, and Redis must ask for a password. */
function redisUrlProblems(url: string | undefined, role: ConfigRole): string[] {
  if (!url)
    return role === "worker"
      ? ["CI_REDIS_URL is missing: set it to the Redis the server hands builds to (redis://:password@host:6379)."]
      : [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return ["CI_REDIS_URL is not a URL: write redis://:password@host:6379 (rediss:// for TLS)."];
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
    return ["CI_REDIS_URL must start with redis:// or rediss:// (TLS)."];
  if (!parsed.password)
    return [
      "CI_REDIS_URL has no password: the code under test can reach Redis on the network, so Redis must ask for one (requirepass or an ACL user: redis://user:password@host:6379).",
    ];
  return [];
}

/** CI_WORKER_LABELS: comma-separated labels (spaces around them ignored), as a sorted set; each bad one is a problem. */
function labelsOf(value: string | undefined, problems: string[]): string[] {
  const labels = (value ?? "")
    .split(",")
    .map((label) => label.trim())
    .filter((label) => label !== "");
  for (const label of labels) {
    const problem = labelProblem(label);
    if (problem) problems.push(`CI_WORKER_LABELS: ${problem}.`);
  }
  return labelSet(labels);
}

/** CI_DATA_DIR as an absolute path (default ./data), for the commands that need only it (`pyci backup`). */
export function dataDirOf(env: NodeJS.ProcessEnv): string {
  return resolve(env.CI_DATA_DIR?.trim() || "./data");
}

const MIB = 1024 * 1024;
const DEFAULT_SANDBOX_UIDS = "900000-965535";
const DEFAULT_UID_RANGE: UidRange = { first: 900_000, count: 65_536 };

/** One of `values`; the first is the default. */
function oneOf<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  values: readonly [T, ...T[]],
  problems: string[],
): T {
  const raw = env[name]?.trim();
  if (!raw) return values[0];
  if ((values as readonly string[]).includes(raw)) return raw as T;
  problems.push(`${name}=${raw} is not one of: ${values.join(", ")}.`);
  return values[0];
}

/** Printable ASCII without spaces: what survives an Authorization header and Basic auth's "user:password". */
const ADMIN_TOKEN = /^[\x21-\x7e]{16,}$/;

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (raw === "true") return true;
  if (raw === "false") return false;
  problems.push(`${name}=${raw} must be "true" or "false".`);
  return fallback;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    problems.push(`${name}=${raw} must be a whole number of at least 1.`);
    return fallback;
  }
  return value;
}

function atLeast(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, problems: string[]): number {
  const value = positiveInt(env, name, fallback, problems);
  if (value >= min) return value;
  problems.push(
    `${name}=${value} is too few for a build (threads count, and pyright alone runs more than a dozen); it must be at least ${min}.`,
  );
  return fallback;
}

const SIZE = /^(\d+(?:\.\d+)?) ?(?:([kmgt])(?:i?b)?)?$/i;
const UNITS = { k: 1024, m: MIB, g: 1024 * MIB, t: 1024 * 1024 * MIB };

/**
 * A size in MiB, as the other size settings, or with a binary unit: 512M, 4G, 1.5GiB, 1T
 * ("G", "GB" and "GiB" all mean 1024 MiB). At least `min` bytes.
 */
function size(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const match = SIZE.exec(raw);
  if (!match) {
    problems.push(`${name}=${raw} is not a size: write MiB as a number (4096) or with a unit (4G, 512M).`);
    return fallback;
  }
  const unit = match[2]?.toLowerCase() as keyof typeof UNITS | undefined;
  const bytes = Math.floor(Number(match[1]) * (unit ? UNITS[unit] : MIB));
  if (bytes < min) {
    problems.push(
      `${name}=${raw} is less than the ${min / MIB} MiB a build needs (a number without a unit is MiB: write 4G for 4 GiB).`,
    );
    return fallback;
  }
  return bytes;
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:";
  } catch {
    return false;
  }
}

export function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
