import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Probot } from "probot";
import { BuildQueue } from "../../src/builds/build-queue.js";
import { GITHUB_KNOWN_HOSTS, type Config } from "../../src/config.js";
import { createApp, type AppControl } from "../../src/index.js";
import { generateAppKey } from "./app-key.js";
import { UnthrottledOctokit } from "./unthrottled-octokit.js";

export interface TestApp {
  probot: Probot;
  queue: BuildQueue;
  config: Config;
  /** The app's controls (graceful shutdown). */
  control: AppControl;
  remove(): void;
}

/** pyci's app loaded into a Probot that talks to api.github.com (mock it with nock), with its own data and work dirs. */
export async function createTestApp(): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), "pyci-data-"));
  const workDir = mkdtempSync(join(tmpdir(), "pyci-work-"));
  const config: Config = {
    production: false,
    publicUrl: "https://ci.example.com",
    dataDir,
    workDir,
    cloneProtocol: "https",
    knownHostsPath: GITHUB_KNOWN_HOSTS,
    concurrency: 1,
    stepTimeoutMs: 120_000,
    python: "python3",
    docsReleasesKeep: 10,
    retentionDays: 90,
    retentionBuilds: 10_000,
    publicBadges: false,
    shutdownGraceMs: 5_000,
    forkPolicy: "run",
    sandbox: "off",
    sandboxUids: { first: 900_000, count: 65_536 },
    stepOutputCapBytes: 32 * 1024 * 1024,
    minFreeDiskBytes: 1024 * 1024,
    cacheMaxBytes: 512 * 1024 * 1024,
    webhookBufferBytes: 64 * 1024 * 1024,
    liveClientsPerBuild: 20,
    liveClients: 200,
  };
  const queue = new BuildQueue(1);
  const probot = new Probot({ appId: 1, privateKey: generateAppKey(), Octokit: UnthrottledOctokit, logLevel: "warn" });
  const control: AppControl = {};
  await probot.load(createApp(config, { queue, control, secrets: ["webhook-secret-value"] }), {
    cwd: process.cwd(),
    addHandler: () => undefined,
  });
  return {
    probot,
    queue,
    config,
    control,
    remove() {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
