import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDoctor } from "../../src/doctor/run-doctor.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";

/** `pyci doctor` against the fake GitHub, with this machine's Python, pyright, Sphinx and sandbox. */
const APP_ID = 5150;
const privateKey = generateAppKey();
const dir = mkdtempSync(join(tmpdir(), "pyci-doctor-"));
const fakes: FakeGitHub[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function doctor(installations: Record<number, string>, key = privateKey) {
  const fake = await startFakeGitHub({ appId: APP_ID, privateKey, installations });
  fakes.push(fake);
  const lines: string[] = [];
  const env = {
    PATH: process.env.PATH,
    APP_ID: String(APP_ID),
    PRIVATE_KEY: key,
    WEBHOOK_SECRET: "s3cret-for-the-doctor",
    GHE_HOST: fake.host,
    GHE_PROTOCOL: "http",
    CI_DATA_DIR: join(dir, "data"),
    CI_WORK_DIR: join(dir, "work"),
    CI_SANDBOX_UIDS: "950000-950099",
  };
  const code = await runDoctor((line) => lines.push(line), env, dir);
  return { code, text: lines.join("\n") };
}

describe("pyci doctor", () => {
  let healthy: { code: number; text: string };
  beforeAll(async () => {
    healthy = await doctor({ 7: "acme" });
  }, 60_000);

  it("passes where the server can run builds, one line per check", () => {
    expect(healthy.code, healthy.text).toBe(0);
    expect(healthy.text).toMatch(/^✓ github: App pyci-test \(id 5150\) authenticates$/m);
    expect(healthy.text).toMatch(/^✓ installations: installed on acme$/m);
    expect(healthy.text).toMatch(/^✓ python: .* is Python 3\.\d+\.\d+, with venv$/m);
    expect(healthy.text).toMatch(/^✓ pyright: pyright \d+\.\d+\.\d+$/m);
    expect(healthy.text).toMatch(/^✓ sandbox: /m);
    expect(healthy.text).toMatch(/^✓ disk: \d+ MiB free in CI_WORK_DIR$/m);
    expect(healthy.text).toMatch(/pyci can run builds here\.$/);
    expect(healthy.text).not.toContain("s3cret-for-the-doctor");
  });

  it("fails, saying how to install it, when the App is installed nowhere", async () => {
    const { code, text } = await doctor({});
    expect(code).toBe(1);
    expect(text).toMatch(
      /^✗ installations: the App is installed nowhere → install it: http:\/\/.*\/apps\/pyci-test\/installations\/new$/m,
    );
  });

  it("fails when GitHub refuses the App's key", async () => {
    const { code, text } = await doctor({ 7: "acme" }, generateAppKey());
    expect(code).toBe(1);
    expect(text).toMatch(/^✗ github: GitHub refused the App's credentials \(GET \/app\): .* → check APP_ID/m);
  });

  it("lists every configuration problem and stops there", async () => {
    const lines: string[] = [];
    const code = await runDoctor((line) => lines.push(line), { NODE_ENV: "production", CI_CONCURRENCY: "lots" }, dir);
    expect(code).toBe(1);
    expect(lines.filter((l) => l.startsWith("✗ config: ")).length).toBeGreaterThan(1);
  });
});
