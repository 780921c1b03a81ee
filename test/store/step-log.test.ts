import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { maskSecrets } from "../../src/secrets/mask-secrets.js";
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
    expect(text).toBe(
      "token *** here\nurl https://x-access-token:***@github.com\nheader Authorization: Basic ***\nplain b64 ***\n",
    );
  });

  it("keeps the head and the tail of output past the cap, and says how much it left out", () => {
    const path = join(dir, "capped.log");
    const seen: string[] = [];
    const log = openStepLog(
      path,
      (t) => t,
      (t) => seen.push(t),
      1000,
    );
    for (let i = 0; i < 100; i++) log.write(`line ${String(i).padStart(3, "0")} ${"x".repeat(89)}\n`);
    log.close();
    const text = readFileSync(path, "utf8");
    const lines = text.split("\n");
    // 99-byte lines: 5 whole ones fit in the 500-byte head, which ends at a line end; so does the tail
    expect(lines.slice(0, 5).map((l) => l.slice(0, 8))).toEqual([
      "line 000",
      "line 001",
      "line 002",
      "line 003",
      "line 004",
    ]);
    expect(lines[5]).toMatch(
      /^\[pyci: \d+ bytes of output omitted here; the step printed 9900 bytes, of which the first 495 and the last \d+ are kept \(cap 1000 bytes/,
    );
    expect(lines.at(-2)!.startsWith("line 099")).toBe(true);
    expect(lines.at(-1)).toBe("");
    expect(Buffer.byteLength(text) - Buffer.byteLength(lines[5]!) - 1).toBeLessThanOrEqual(1000);
    const omitted = Number(/(\d+) bytes of output omitted/.exec(text)![1]);
    const kept = text.split("\n").filter((l) => l.startsWith("line ")).length;
    expect(omitted + kept * 99).toBe(9900);
    expect(seen.join("")).toBe(text);
  });

  it("stores output under the cap whole, without a note", () => {
    const path = join(dir, "under-cap.log");
    const log = openStepLog(path, (t) => t, undefined, 1000);
    for (let i = 0; i < 9; i++) log.write(`${i}${"y".repeat(98)}\n`);
    log.close();
    const text = readFileSync(path, "utf8");
    expect(text).toBe(Array.from({ length: 9 }, (_, i) => `${i}${"y".repeat(98)}\n`).join(""));
  });

  it("keeps memory bounded: a line without end longer than the cap keeps its head and tail", () => {
    const path = join(dir, "one-line.log");
    const log = openStepLog(path, (t) => t, undefined, 4096);
    log.write("START");
    for (let i = 0; i < 1000; i++) log.write("é".repeat(1000));
    log.write("END");
    log.close();
    const text = readFileSync(path, "utf8");
    expect(text.startsWith("START")).toBe(true);
    expect(text.endsWith("END")).toBe(true);
    expect(text).not.toContain("\uFFFD");
    expect(text).toMatch(/omitted here; the step printed 2000008 bytes/);
  });
});
