import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { generateAppKey } from "./support/app-key.js";
import { startFakeGitHub } from "./support/fake-github.js";
import { makeRepo } from "./support/git-repo.js";
import {
  eventually,
  freePort,
  processesUnder,
  productionEnv,
  spawnServer,
  waitUntilServing,
} from "./support/server-process.js";

/**
 * `pyci run` as users start it (`node dist/cli.js`: run `npm run build`
 * first), in a CI_WORK_DIR of the test's own: interrupted, it leaves nothing
 * behind but its logs; a server started beside it in the same CI_WORK_DIR
 * leaves its checkout alone.
 */
const CLI = join(process.cwd(), "dist", "cli.js");
const LOGS = `pyci-logs-${process.getuid!()}`;
const cleanups: (() => void)[] = [];
afterAll(() => cleanups.splice(0).forEach((cleanup) => cleanup()));

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A project whose one test waits (up to a minute) until `release` exists, then passes. */
function waitingProject(release: string) {
  const repo = makeRepo({
    "test_wait.py": [
      "import os",
      "import time",
      "import unittest",
      "",
      "",
      "class WaitTest(unittest.TestCase):",
      "    def test_wait(self):",
      "        for _ in range(600):",
      `            if os.path.exists(${JSON.stringify(release)}):`,
      "                return",
      "            time.sleep(0.1)",
      "",
    ].join("\n"),
  });
  cleanups.push(() => repo.remove());
  return repo;
}

function startRun(dir: string, workDir: string) {
  const child = spawn(process.execPath, [CLI, "run", dir], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/", CI_WORK_DIR: workDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  cleanups.push(() => child.kill("SIGKILL"));
  return { child, exited, output: () => output };
}

describe("pyci run leaves nothing behind", () => {
  it("removes its checkout and stops its processes on Ctrl-C (SIGINT) mid-test, keeping only the logs", async () => {
    expect(existsSync(CLI), "run `npm run build` first").toBe(true);
    const workDir = tempDir("pyci-cli-int-");
    const repo = waitingProject(join(workDir, "never"));
    const run = startRun(repo.dir, workDir);
    await eventually(() => run.output().includes("▶ test started"), 60_000, `the test step starts:\n${run.output()}`);
    await eventually(() => processesUnder(workDir).length > 0, 10_000, "the test's python runs in the checkout");
    expect(readdirSync(workDir).filter((name) => name.startsWith("pyci-build-"))).toHaveLength(1);
    run.child.kill("SIGINT");
    expect(await run.exited, run.output()).toBe(130);
    expect(run.output()).toMatch(/pyci: interrupted \(SIGINT\); the checkout is removed, the logs are in /);
    expect(readdirSync(workDir)).toEqual([LOGS]);
    expect(readdirSync(join(workDir, LOGS))).toHaveLength(1);
    expect(processesUnder(workDir)).toEqual([]);
  }, 120_000);

  it("keeps running while a server starts in the same CI_WORK_DIR, and passes", async () => {
    const workDir = tempDir("pyci-cli-server-");
    const release = join(tempDir("pyci-cli-release-"), "go");
    const repo = waitingProject(release);
    const run = startRun(repo.dir, workDir);
    await eventually(() => run.output().includes("▶ test started"), 60_000, `the test step starts:\n${run.output()}`);

    const privateKey = generateAppKey();
    const fake = await startFakeGitHub({ appId: 77, privateKey });
    cleanups.push(() => void fake.stop());
    const port = await freePort();
    const server = spawnServer(
      {
        ...productionEnv(),
        APP_ID: "77",
        PRIVATE_KEY: privateKey,
        WEBHOOK_SECRET: randomBytes(24).toString("base64url"),
        PORT: String(port),
        GHE_HOST: fake.host,
        CI_PUBLIC_URL: `http://127.0.0.1:${port}`,
        CI_DATA_DIR: tempDir("pyci-cli-server-data-"),
        CI_WORK_DIR: workDir,
      },
      workDir,
    );
    try {
      await waitUntilServing(server, "/ping");
    } finally {
      await server.stop();
    }
    expect(server.output()).not.toMatch(/removed \d+ checkout/);
    writeFileSync(release, "");
    expect(await run.exited, run.output()).toBe(0);
    expect(run.output()).toMatch(/✓ test: 1 test passed/);
    expect(readdirSync(workDir).filter((name) => name.startsWith("pyci-build-"))).toEqual([]);
  }, 120_000);
});
