import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { maskSecrets } from "../../src/pipeline/mask-secrets.js";
import { openStepLog } from "../../src/store/step-log.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-log-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("openStepLog", () => {
  it("masks secrets, their URL-encoded and base64 forms, even split across writes", () => {
    const secret = "ghs_S3cr3t/Token+Value";
    const path = join(dir, "masked.log");
    const log = openStepLog(path, maskSecrets([secret]));
    log.write(`token ${secret.slice(0, 8)}`);
    log.write(`${secret.slice(8)} here\n`);
    log.write(`url https://x-access-token:${encodeURIComponent(secret)}@github.com\n`);
    log.write(`header Authorization: Basic ${Buffer.from(`x-access-token:${secret}`).toString("base64")}\n`);
    log.write(`plain b64 ${Buffer.from(secret).toString("base64")}\n`);
    log.close();
    const text = readFileSync(path, "utf8");
    expect(text).not.toContain(secret);
    expect(text).not.toContain(encodeURIComponent(secret));
    expect(text).not.toContain(Buffer.from(secret).toString("base64").replace(/=+$/, ""));
    expect(text).toBe("token *** here\nurl https://x-access-token:***@github.com\nheader Authorization: Basic ***\nplain b64 ***\n");
  });

  it("caps what it stores and says how much it dropped", () => {
    const path = join(dir, "capped.log");
    const log = openStepLog(path, (t) => t, undefined, 1000);
    for (let i = 0; i < 100; i++) log.write(`${"x".repeat(99)}\n`);
    log.close();
    const text = readFileSync(path, "utf8");
    expect(text.startsWith("x".repeat(99))).toBe(true);
    expect(text).toMatch(/output truncated, 9000 more bytes were not stored \(cap 1000 bytes per step\)/);
  });
});
