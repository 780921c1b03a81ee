import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { alive } from "../../src/process/alive.js";

describe("alive", () => {
  it("is true for a running process, whoever's it is, and false for one that has exited or a pid that names no one process", () => {
    expect(alive(process.pid)).toBe(true);
    expect(alive(1)).toBe(true);
    const exited = spawnSync("true").pid;
    expect(alive(exited)).toBe(false);
    for (const pid of [0, -1, 1.5, Number.NaN]) expect(alive(pid), String(pid)).toBe(false);
  });
});
