import { execFileSync } from "node:child_process";
import { linkSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BuildFileError, readBuildFile } from "../../../src/process/sandbox/read-build-file.js";

const dir = mkdtempSync(join(tmpdir(), "pyci-build-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A root-only file the code under test must not make pyci read (what /etc/shadow would be). */
const secret = join(dir, "secret");
writeFileSync(secret, "root's secret", { mode: 0o600 });

describe("readBuildFile", () => {
  it("reads a regular file, and says undefined for a missing one", async () => {
    writeFileSync(join(dir, "results.json"), '{"ok": true}');
    expect((await readBuildFile(join(dir, "results.json"), 1024))?.toString()).toBe('{"ok": true}');
    expect(await readBuildFile(join(dir, "missing.json"), 1024)).toBeUndefined();
  });

  it("never follows a symbolic link", async () => {
    symlinkSync(secret, join(dir, "link.json"));
    await expect(readBuildFile(join(dir, "link.json"), 1024)).rejects.toThrow(BuildFileError);
    await expect(readBuildFile(join(dir, "link.json"), 1024)).rejects.toThrow(/symbolic link/);
  });

  it("never waits on a FIFO that no one writes", async () => {
    execFileSync("mkfifo", [join(dir, "fifo.json")]);
    await expect(readBuildFile(join(dir, "fifo.json"), 1024)).rejects.toThrow(/not a regular file/);
  });

  it("refuses a hard link to another file and one larger than it reads", async () => {
    linkSync(secret, join(dir, "hard.json"));
    await expect(readBuildFile(join(dir, "hard.json"), 1024)).rejects.toThrow(/hard link/);
    writeFileSync(join(dir, "big.json"), "x".repeat(2048));
    await expect(readBuildFile(join(dir, "big.json"), 1024)).rejects.toThrow(/2048 bytes, more than the 1024/);
  });

  it("refuses a device", async () => {
    await expect(readBuildFile("/dev/zero", 1024)).rejects.toThrow(/not a regular file/);
  });
});
