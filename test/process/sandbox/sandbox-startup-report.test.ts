import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { sandboxSettings } from "../../../src/process/sandbox/sandbox-settings.js";
import { sandboxStartupReport } from "../../../src/process/sandbox/sandbox-startup-report.js";
import { BWRAP, ROOT_USER } from "../../support/hostile-build.js";

const UIDS = { first: 900_000, count: 65_536 };

/** A working directory as an operator leaves it: others may search it; the App's key in it as Probot finds it. */
const cwd = mkdtempSync(join(tmpdir(), "pyci-startup-report-"));
chmodSync(cwd, 0o755);
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function file(path: string, mode: number): string {
  writeFileSync(path, "-----BEGIN PRIVATE KEY-----\n");
  chmodSync(path, mode);
  return path;
}

describe("sandboxSettings", () => {
  it("hides every .pem of the working directory besides the configured secrets, PRIVATE_KEY_PATH set or not", () => {
    const dir = mkdtempSync(join(cwd, "settings-"));
    file(join(dir, "my-app.2026-01-01.private-key.pem"), 0o600);
    file(join(dir, "notes.txt"), 0o644);
    const config = {
      sandbox: "off" as const,
      sandboxUids: UIDS,
      dataDir: join(dir, "data"),
      sshKeyPath: "/etc/pyci/id_ed25519",
    };
    expect(sandboxSettings(config, {}, dir).hidden).toEqual([
      join(dir, "data"),
      "/etc/pyci/id_ed25519",
      join(dir, ".env"),
      join(dir, "my-app.2026-01-01.private-key.pem"),
    ]);
    expect(sandboxSettings(config, { PRIVATE_KEY_PATH: "keys/app.pem" }, dir).hidden).toContain(
      join(dir, "my-app.2026-01-01.private-key.pem"),
    );
    expect(sandboxSettings(config, { PRIVATE_KEY_PATH: "keys/app.pem" }, dir).hidden).toContain(
      join(dir, "keys/app.pem"),
    );
  });

  it("hides the files secrets are read from (*_FILE), and refuses start-up in user mode while others can read one", async () => {
    const dir = mkdtempSync(join(cwd, "secret-files-"));
    chmodSync(dir, 0o755);
    const token = file(join(dir, "token"), 0o644);
    const env = { CI_GITHUB_TOKEN_FILE: token, CI_SANDBOX_UIDS_FILE: "/not/a/secret" };
    const config = { sandbox: "user" as const, sandboxUids: UIDS, dataDir: join(dir, "data") };
    const settings = sandboxSettings(config, env, dir);
    expect(settings.hidden).toContain(token);
    expect(settings.hidden).not.toContain("/not/a/secret");
    if (process.getuid?.() === 0) {
      expect((await sandboxStartupReport(settings)).refusals.join("\n")).toContain(token);
      chmodSync(token, 0o600);
      expect((await sandboxStartupReport(settings)).refusals).toEqual([]);
    }
  });
});

describe("sandboxStartupReport", () => {
  const dir = mkdtempSync(join(cwd, "report-"));
  chmodSync(dir, 0o755);
  const pem = file(join(dir, "app.pem"), 0o644);
  const sshKey = file(join(dir, "ssh_key"), 0o600);
  const dataDir = join(dir, "data");
  mkdirSync(dataDir, { mode: 0o711 });
  const db = file(join(dataDir, "pyci.db"), 0o644);
  const settings = (mode: "off" | "bwrap" | "user") =>
    sandboxSettings({ sandbox: mode, sandboxUids: UIDS, dataDir, sshKeyPath: sshKey }, {}, dir);

  it("off: warns about each secret every user can read, with its fix, and starts", async () => {
    const report = await sandboxStartupReport(settings("off"));
    expect(report.description).toMatch(/^off/);
    expect(report.refusals).toEqual([]);
    expect(report.warnings[0]).toMatch(/^CI_SANDBOX=off: the code under test runs unconfined/);
    expect(report.warnings.slice(1)).toEqual([
      `${pem} is a secret, and every user of this machine can read it: chmod o-rwx ${pem}`,
      `${db} is a secret, and every user of this machine can read it: chmod o-rwx ${db}`,
    ]);
  });

  it.skipIf(!ROOT_USER || !BWRAP)("bwrap: hides them, so a warning and no refusal", async () => {
    const report = await sandboxStartupReport(settings("bwrap"));
    expect(report.description).toMatch(/^bwrap/);
    expect(report.refusals).toEqual([]);
    expect(report.warnings.join("\n")).toContain(`chmod o-rwx ${pem}`);
  });

  it.skipIf(!ROOT_USER)("user: hides nothing, so start-up refuses, naming each file and its chmod", async () => {
    const report = await sandboxStartupReport(settings("user"));
    expect(report.description).toMatch(/^user/);
    expect(report.refusals).toEqual([
      `${pem} is a secret that every user of this machine can read, the build uids (CI_SANDBOX_UIDS) that run the code under test among them: the user sandbox hides no file. Fix: chmod o-rwx ${pem}`,
      `${db} is a secret that every user of this machine can read, the build uids (CI_SANDBOX_UIDS) that run the code under test among them: the user sandbox hides no file. Fix: chmod o-rwx ${db}`,
    ]);
  });

  it.skipIf(!ROOT_USER)("user: starts once the files are closed, or the directory above them is", async () => {
    const closed = mkdtempSync(join(cwd, "closed-"));
    chmodSync(closed, 0o700);
    file(join(closed, "app.pem"), 0o644);
    const report = await sandboxStartupReport(
      sandboxSettings({ sandbox: "user", sandboxUids: UIDS, dataDir: join(closed, "data") }, {}, closed),
    );
    expect(report.refusals).toEqual([]);
    expect(report.warnings).toEqual([]);
  });
});
