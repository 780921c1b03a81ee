import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Config } from "../../src/config.js";
import { sshLogin } from "../../src/doctor/doctor-checks.js";
import { runDoctor } from "../../src/doctor/run-doctor.js";
import { generateAppKey } from "../support/app-key.js";
import { startFakeGitHub, type FakeGitHub } from "../support/fake-github.js";
import { freePort } from "../support/server-process.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

/** `pyci doctor` against the fake GitHub, with this machine's Python, pyright, Sphinx and sandbox. */
const APP_ID = 5150;
const privateKey = generateAppKey();
const dir = mkdtempSync(join(tmpdir(), "pyci-doctor-"));
const fakes: FakeGitHub[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  rmSync(dir, { recursive: true, force: true });
});

async function doctor(installations: Record<number, string>, key = privateKey, prepare?: (fake: FakeGitHub) => void) {
  const fake = await startFakeGitHub({ appId: APP_ID, privateKey, installations });
  fakes.push(fake);
  prepare?.(fake);
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

  it("fails, without crashing, when GitHub does not list the installations", async () => {
    const { code, text } = await doctor({ 7: "acme" }, privateKey, (fake) =>
      fake.failNext({ method: "GET", path: "/app/installations", status: 502, times: 5 }),
    );
    expect(code).toBe(1);
    expect(text).toMatch(/^✗ installations: GitHub did not list the App's installations: .* → try again$/m);
    expect(text).toMatch(/pyci cannot run builds here: 1 problem\(s\) above\.$/);
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

describe("pyci doctor's SSH login", () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  }, 30_000);
  afterAll(() => sshd?.stop());
  const config = (key: string, knownHosts: string) =>
    ({ cloneProtocol: "ssh", sshKeyPath: key, knownHostsPath: knownHosts }) as Config;

  it("fails when the git host refuses the key, saying to add it as a deploy key", async () => {
    const other = join(dir, "other_key");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
    const check = await sshLogin(config(other, sshd.knownHostsPath), "127.0.0.1", sshd.port);
    expect(check).toMatchObject({ level: "fail", detail: "git@127.0.0.1 refuses the key" });
    expect(check.fix).toMatch(/deploy key/);
  });

  it("fails when the host's key is not in known_hosts", async () => {
    const empty = join(dir, "known_hosts_empty");
    writeFileSync(empty, "");
    const check = await sshLogin(config(sshd.clientKeyPath, empty), "127.0.0.1", sshd.port);
    expect(check).toMatchObject({ level: "fail", detail: `127.0.0.1's host key is not in ${empty}` });
  });

  it("warns when the host cannot be reached", async () => {
    const check = await sshLogin(config(sshd.clientKeyPath, sshd.knownHostsPath), "127.0.0.1", await freePort());
    expect(check.level).toBe("warn");
    expect(check.detail).toMatch(/^could not reach git@127\.0\.0\.1: .*refused/i);
  });
});
