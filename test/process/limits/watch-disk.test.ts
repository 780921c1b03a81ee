import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { watchDisk, type DiskWatch } from "../../../src/process/limits/watch-disk.js";

const MIB = 1024 * 1024;
const root = mkdtempSync(join(tmpdir(), "pyci-watch-disk-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let watch: DiskWatch | undefined;
afterEach(() => watch?.stop());

async function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A file of `mib` MiB of random bytes: every block written, nothing a file system could leave sparse or compress. */
function write(path: string, mib: number): void {
  writeFileSync(path, randomBytes(mib * MIB));
}

describe("watchDisk", () => {
  // each next measurement waits 20 times as long as the last took (DUTY): on a loaded machine a slow start of du
  // stretches the 50 ms interval to seconds, so the waits below allow a minute
  it("measures what the directories hold, and calls once when they pass the limit", { timeout: 150_000 }, async () => {
    const checkout = join(root, "checkout");
    const scratch = join(root, "scratch");
    mkdirSync(checkout);
    mkdirSync(scratch);
    const calls: number[] = [];
    watch = watchDisk([checkout, scratch], 8 * MIB, (used) => calls.push(used), 50);

    write(join(checkout, "a"), 3);
    write(join(scratch, "b"), 3);
    await until("both files are counted", () => watch!.usedBytes() >= 6 * MIB, 60_000);
    expect(watch.usedBytes()).toBeLessThan(7 * MIB);
    expect(calls).toEqual([]);

    write(join(scratch, "c"), 3);
    await until("the limit is passed", () => calls.length > 0, 60_000);
    expect(calls[0]).toBeGreaterThan(8 * MIB);
    write(join(checkout, "d"), 3);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls).toHaveLength(1);
  });

  it("follows no symlink out of the directories, and counts a missing directory as empty", {
    timeout: 30_000,
  }, async () => {
    const outside = join(root, "outside");
    const checkout = join(root, "linked");
    mkdirSync(outside);
    mkdirSync(checkout);
    write(join(outside, "big"), 16);
    symlinkSync(outside, join(checkout, "to-dir"));
    symlinkSync(join(outside, "big"), join(checkout, "to-file"));
    write(join(checkout, "own"), 1);
    const calls: number[] = [];
    watch = watchDisk([checkout, join(root, "not-yet")], 8 * MIB, (used) => calls.push(used), 50);
    await until("the checkout is measured", () => watch!.usedBytes() > 0);
    expect(watch.usedBytes()).toBeGreaterThanOrEqual(1 * MIB);
    expect(watch.usedBytes()).toBeLessThan(2 * MIB);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(calls).toEqual([]);
  });

  it("stops measuring when stopped", { timeout: 30_000 }, async () => {
    const checkout = join(root, "stopped");
    mkdirSync(checkout);
    write(join(checkout, "a"), 1);
    const calls: number[] = [];
    watch = watchDisk([checkout], 4 * MIB, (used) => calls.push(used), 50);
    await until("the checkout is measured", () => watch!.usedBytes() > 0);
    watch.stop();
    const last = watch.usedBytes();
    write(join(checkout, "b"), 8);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watch.usedBytes()).toBe(last);
    expect(calls).toEqual([]);
  });
});
