import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { knownSecrets } from "../../src/secrets/known-secrets.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-known-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("knownSecrets", () => {
  it("takes the values of secret-named variables and the SSH key's lines, not paths or ordinary settings", () => {
    const sshKey = join(dir, "id_ed25519");
    writeFileSync(
      sshKey,
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n",
      { mode: 0o600 },
    );
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
    expect(secrets.sort()).toEqual([
      "admin-token-value-0123",
      "aws-secret-value",
      "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
      "hunter2hunter2",
    ]);
  });
});
