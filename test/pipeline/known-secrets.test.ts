import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { knownSecrets } from "../../src/pipeline/known-secrets.js";
import { sandboxSettings } from "../../src/pipeline/sandbox-settings.js";
import { sandboxStartupReport } from "../../src/pipeline/sandbox-startup-report.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-known-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("knownSecrets", () => {
  it("takes the values of secret-named variables and the SSH key's lines, not paths or ordinary settings", () => {
    const sshKey = join(dir, "id_ed25519");
    writeFileSync(sshKey, "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
    const secrets = knownSecrets(
      {
        AWS_SECRET_ACCESS_KEY: "aws-secret-value",
        CI_ADMIN_TOKEN: "admin-token-value-0123",
        DB_PASSWORD: "hunter2hunter2",
        PRIVATE_KEY_PATH: "/etc/pyci/app.pem",
        GIT_AUTHOR_NAME: "Test Author",
        PATH: "/usr/bin:/bin",
        WEBHOOK_SECRET: "development",
      },
      sshKey,
    );
    expect(secrets.sort()).toEqual(["admin-token-value-0123", "aws-secret-value", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "hunter2hunter2"]);
  });
});

describe("sandboxStartupReport", () => {
  it("names the sandbox and warns about key files and a data dir that every user can read", async () => {
    const key = join(dir, "app.pem");
    const dataDir = join(dir, "data");
    writeFileSync(key, "key", { mode: 0o644 });
    chmodSync(key, 0o644);
    const safe = join(dir, "ssh_key");
    writeFileSync(safe, "key", { mode: 0o600 });
    const settings = sandboxSettings({ sandbox: "off", sandboxUids: { first: 900_000, count: 65_536 }, dataDir, sshKeyPath: safe }, { PRIVATE_KEY_PATH: key }, dir);
    expect(settings.hidden).toEqual([dataDir, safe, key, join(dir, ".env")]);
    const report = await sandboxStartupReport(settings);
    expect(report.description).toMatch(/^off/);
    expect(report.warnings).toEqual([`${key} is readable by every user of this machine (mode 644): chmod o-rwx ${key}`]);
  });

  it("reports an explicit sandbox that cannot work as a problem", async () => {
    const report = await sandboxStartupReport({ mode: "user", user: "no-such-user-pyci", hidden: [] });
    expect(report.problem).toMatch(process.getuid?.() === 0 ? /CI_SANDBOX_USER=no-such-user-pyci is not a user/ : /does not run as root/);
  });
});
