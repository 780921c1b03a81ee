import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, GITHUB_KNOWN_HOSTS, loadConfig } from "../src/config.js";
import { withSecretFiles } from "../src/config/secret-files.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-config-"));
const key = join(dir, "id_ed25519");
writeFileSync(key, "not really a key", { mode: 0o600 });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe("loadConfig", () => {
  it("has documented defaults in development", () => {
    const config = loadConfig({ PORT: "3100" });
    expect(config).toMatchObject({
      production: false,
      publicUrl: "http://localhost:3100",
      cloneProtocol: "https",
      knownHostsPath: GITHUB_KNOWN_HOSTS,
      stepTimeoutMs: 1_800_000,
      python: "python3",
      docsReleasesKeep: 10,
      retentionDays: 90,
      retentionBuilds: 10_000,
    });
    expect(config.dataDir).toBe(join(process.cwd(), "data"));
    expect(config.concurrency).toBeGreaterThanOrEqual(1);
  });

  it("gives builds uids of CI_SANDBOX_UIDS, and refuses CI_SANDBOX_USER, whose one account builds shared", () => {
    expect(loadConfig({}).sandboxUids).toEqual({ first: 900_000, count: 65_536 });
    expect(loadConfig({ CI_SANDBOX_UIDS: "2000000-2000999" }).sandboxUids).toEqual({ first: 2_000_000, count: 1_000 });
    expect(problems({ CI_SANDBOX_UIDS: "0-1000" })).toEqual([
      expect.stringMatching(/^CI_SANDBOX_UIDS=0-1000 must be a range of uids no account uses/),
    ]);
    expect(problems({ CI_SANDBOX_USER: "nobody" })).toEqual([
      expect.stringMatching(/^CI_SANDBOX_USER is no longer read: each build runs as a uid of its own/),
    ]);
  });

  it("clones over ssh when a key is configured, and takes every pyci variable", () => {
    const config = loadConfig({
      CI_SSH_KEY_PATH: key,
      CI_PUBLIC_URL: "https://ci.example.com/",
      CI_DATA_DIR: dir,
      CI_WORK_DIR: dir,
      CI_CONCURRENCY: "3",
      CI_STEP_TIMEOUT: "60",
      CI_PYTHON: "python3.11",
      CI_RETENTION_DAYS: "30",
      CI_RETENTION_BUILDS: "500",
    });
    expect(config).toMatchObject({
      cloneProtocol: "ssh",
      sshKeyPath: key,
      publicUrl: "https://ci.example.com",
      dataDir: dir,
      workDir: dir,
      concurrency: 3,
      stepTimeoutMs: 60_000,
      python: "python3.11",
      retentionDays: 30,
      retentionBuilds: 500,
    });
  });

  it("refuses production without a real webhook secret or a public URL", () => {
    expect(problems({ NODE_ENV: "production" }).join("\n")).toMatch(/WEBHOOK_SECRET is missing/);
    expect(
      problems({ NODE_ENV: "production", WEBHOOK_SECRET: "development", CI_PUBLIC_URL: "https://ci.example.com" }),
    ).toHaveLength(1);
    expect(problems({ NODE_ENV: "production", WEBHOOK_SECRET: "s3cret-value" }).join("\n")).toMatch(
      /CI_PUBLIC_URL is missing/,
    );
    expect(
      problems({ NODE_ENV: "production", WEBHOOK_SECRET: "s3cret-value", CI_PUBLIC_URL: "https://ci.example.com" }),
    ).toEqual([]);
  });

  it("lists every problem at once, each naming its variable", () => {
    const found = problems({
      CI_CLONE_PROTOCOL: "ftp",
      CI_CONCURRENCY: "0",
      CI_STEP_TIMEOUT: "soon",
      CI_PUBLIC_URL: "ci.example.com",
      CI_SSH_KNOWN_HOSTS: join(dir, "missing"),
      PRIVATE_KEY_PATH: join(dir, "missing.pem"),
      CI_RETENTION_DAYS: "-1",
      CI_RETENTION_BUILDS: "2.5",
    });
    expect(found.map((p) => p.split("=")[0])).toEqual([
      "PRIVATE_KEY_PATH",
      "CI_PUBLIC_URL",
      "CI_CLONE_PROTOCOL",
      "CI_SSH_KNOWN_HOSTS",
      "CI_CONCURRENCY",
      "CI_STEP_TIMEOUT",
      "CI_RETENTION_DAYS",
      "CI_RETENTION_BUILDS",
    ]);
    expect(problems({ CI_CLONE_PROTOCOL: "ssh" })).toEqual([
      "CI_CLONE_PROTOCOL=ssh needs CI_SSH_KEY_PATH (the private key to clone with).",
    ]);
  });
});

describe("loadConfig: the admin token and badges", () => {
  it("leaves the build list and the API disabled and badges private by default", () => {
    const config = loadConfig({});
    expect(config.adminToken).toBeUndefined();
    expect(config.publicBadges).toBe(false);
    expect(loadConfig({ CI_ADMIN_TOKEN: "" }).adminToken).toBeUndefined();
  });

  it("takes CI_ADMIN_TOKEN and CI_PUBLIC_BADGES", () => {
    const token = "0123456789abcdef0123456789abcdef";
    expect(loadConfig({ CI_ADMIN_TOKEN: token, CI_PUBLIC_BADGES: "true" })).toMatchObject({
      adminToken: token,
      publicBadges: true,
    });
    expect(loadConfig({ CI_PUBLIC_BADGES: "false" }).publicBadges).toBe(false);
  });

  it("refuses a short or spaced token without printing it, and a badge switch that is not true or false", () => {
    for (const token of ["short-secret", "has a space in it, long enough", "tab\tinside-long-enough-value"]) {
      const found = problems({ CI_ADMIN_TOKEN: token });
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^CI_ADMIN_TOKEN must be at least 16 printable characters without spaces/);
      expect(found[0]).not.toContain(token);
    }
    expect(problems({ CI_PUBLIC_BADGES: "yes" })).toEqual(['CI_PUBLIC_BADGES=yes must be "true" or "false".']);
  });
});

describe("loadConfig: memory before authentication", () => {
  it("bounds unverified webhook bodies to 64 MiB and live streams to 20 per build and 200 in all, unless told otherwise", () => {
    expect(loadConfig({})).toMatchObject({
      webhookBufferBytes: 64 * 1024 * 1024,
      liveClientsPerBuild: 20,
      liveClients: 200,
    });
    expect(
      loadConfig({ CI_WEBHOOK_BUFFER: "128", CI_LIVE_CLIENTS_PER_BUILD: "5", CI_LIVE_CLIENTS: "50" }),
    ).toMatchObject({ webhookBufferBytes: 128 * 1024 * 1024, liveClientsPerBuild: 5, liveClients: 50 });
  });

  it("refuses a webhook buffer too small for GitHub's largest payload, and caps that are not whole numbers", () => {
    expect(problems({ CI_WEBHOOK_BUFFER: "24" })).toEqual([
      "CI_WEBHOOK_BUFFER=24 is below 25 (MiB): GitHub sends payloads of up to 25 MB, and those would always be refused.",
    ]);
    expect(
      problems({ CI_WEBHOOK_BUFFER: "lots", CI_LIVE_CLIENTS_PER_BUILD: "0", CI_LIVE_CLIENTS: "-1" }).map(
        (p) => p.split("=")[0],
      ),
    ).toEqual(["CI_WEBHOOK_BUFFER", "CI_LIVE_CLIENTS_PER_BUILD", "CI_LIVE_CLIENTS"]);
  });
});

describe("loadConfig: build limits", () => {
  const GIB = 1024 ** 3;
  const MIB = 1024 ** 2;

  it("defaults to 4 GiB of memory, 4096 processes, a 1 GiB /tmp and 10 GiB of disk", () => {
    expect(loadConfig({}).buildLimits).toEqual({
      memoryBytes: 4 * GIB,
      processes: 4096,
      tmpBytes: 1 * GIB,
      diskBytes: 10 * GIB,
    });
  });

  it("reads sizes as MiB, or with a binary unit", () => {
    const config = loadConfig({
      CI_BUILD_MEMORY: "2048",
      CI_BUILD_PROCESSES: "512",
      CI_BUILD_TMP: "512M",
      CI_BUILD_DISK: "1.5GiB",
    });
    expect(config.buildLimits).toEqual({
      memoryBytes: 2 * GIB,
      processes: 512,
      tmpBytes: 512 * MIB,
      diskBytes: 1.5 * GIB,
    });
    expect(loadConfig({ CI_BUILD_DISK: "1T" }).buildLimits.diskBytes).toBe(1024 * GIB);
    expect(loadConfig({ CI_BUILD_MEMORY: "8gb" }).buildLimits.memoryBytes).toBe(8 * GIB);
    expect(loadConfig({ CI_BUILD_MEMORY: "8 G" }).buildLimits.memoryBytes).toBe(8 * GIB);
  });

  it("lists every invalid limit, and a size too small to be meant", () => {
    const found = problems({
      CI_BUILD_MEMORY: "4",
      CI_BUILD_PROCESSES: "8",
      CI_BUILD_TMP: "lots",
      CI_BUILD_DISK: "-1G",
    });
    expect(found.map((p) => p.split("=")[0])).toEqual([
      "CI_BUILD_MEMORY",
      "CI_BUILD_PROCESSES",
      "CI_BUILD_TMP",
      "CI_BUILD_DISK",
    ]);
    expect(found[0]).toMatch(/write 4G for 4 GiB/);
    expect(found[2]).toMatch(/not a size/);
  });
});

describe("withSecretFiles", () => {
  it("reads each secret's <NAME>_FILE (trailing newline dropped), refusing unreadable files and secrets set twice", () => {
    const dir = mkdtempSync(join(tmpdir(), "pyci-secret-files-"));
    writeFileSync(join(dir, "hook"), "s3cret\n", { mode: 0o600 });
    writeFileSync(join(dir, "admin"), "adm1n", { mode: 0o600 });
    const env = withSecretFiles({ WEBHOOK_SECRET_FILE: join(dir, "hook"), CI_ADMIN_TOKEN_FILE: join(dir, "admin") });
    expect(env).toMatchObject({ WEBHOOK_SECRET: "s3cret", CI_ADMIN_TOKEN: "adm1n" });
    expect(() => withSecretFiles({ CI_GITHUB_TOKEN_FILE: join(dir, "missing") })).toThrow(
      /CI_GITHUB_TOKEN_FILE=.*missing cannot be read/,
    );
    expect(() => withSecretFiles({ WEBHOOK_SECRET: "a", WEBHOOK_SECRET_FILE: join(dir, "hook") })).toThrow(
      /Both WEBHOOK_SECRET and WEBHOOK_SECRET_FILE are set/,
    );
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets the server build too with workers (CI_SERVER_BUILDS), and refuses it without Redis", () => {
    const redis = { CI_REDIS_URL: "redis://:a-password@127.0.0.1:6379" };
    expect(loadConfig(redis).serverBuilds).toBe(false);
    expect(loadConfig({ ...redis, CI_SERVER_BUILDS: "true" }).serverBuilds).toBe(true);
    expect(problems({ CI_SERVER_BUILDS: "true" })).toEqual([
      "CI_SERVER_BUILDS=true needs CI_REDIS_URL: without workers the server builds everything itself.",
    ]);
    expect(problems({ ...redis, CI_SERVER_BUILDS: "yes" })).toEqual([
      'CI_SERVER_BUILDS=yes must be "true" or "false".',
    ]);
  });

  it("reads a worker's labels as a sorted set, and names each bad one", () => {
    expect(loadConfig({ CI_WORKER_LABELS: " py312, big ,,big" }).workerLabels).toEqual(["big", "py312"]);
    expect(loadConfig({}).workerLabels).toEqual([]);
    const found = problems({ CI_WORKER_LABELS: "Big,py312,gpu x" });
    expect(found).toEqual([
      expect.stringMatching(/^CI_WORKER_LABELS: "Big" is not a label: use lowercase letters/),
      expect.stringMatching(/^CI_WORKER_LABELS: "gpu x" is not a label/),
    ]);
  });
});
