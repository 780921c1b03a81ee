import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { saveEnvFile } from "../../src/web/save-env-file.js";

describe("saveEnvFile", () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("adds the values to what .env holds, replacing those of the same name, readable by its owner only", () => {
    dir = mkdtempSync(join(tmpdir(), "pyci-env-"));
    const path = join(dir, ".env");
    writeFileSync(path, "CI_SANDBOX=bwrap\nAPP_ID=1\n", { mode: 0o644 });
    const key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAbC==\n-----END RSA PRIVATE KEY-----\n";
    saveEnvFile(path, { APP_ID: "42", PRIVATE_KEY: key, WEBHOOK_SECRET: "abc#def" });
    expect(parseEnv(readFileSync(path, "utf8"))).toEqual({
      CI_SANDBOX: "bwrap",
      APP_ID: "42",
      PRIVATE_KEY: key,
      WEBHOOK_SECRET: "abc#def",
    });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("refuses a value it could not write so that it reads back the same", () => {
    dir = mkdtempSync(join(tmpdir(), "pyci-env-"));
    expect(() => saveEnvFile(join(dir, ".env"), { A: 'x"y' })).toThrow(/A has a double quote/);
  });
});
