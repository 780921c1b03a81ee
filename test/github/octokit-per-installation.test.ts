import { describe, expect, it } from "vitest";
import { octokitPerInstallation } from "../../src/github/octokit-per-installation.js";
import type { Octokit } from "../../src/github/types.js";

describe("octokitPerInstallation", () => {
  it("makes one Octokit per installation and hands it out again", async () => {
    const made: (number | undefined)[] = [];
    const octokitFor = octokitPerInstallation(async (id) => {
      made.push(id);
      return { id } as unknown as Octokit;
    });
    const [a, b, again, app] = await Promise.all([octokitFor(1), octokitFor(2), octokitFor(1), octokitFor(undefined)]);
    expect(again).toBe(a);
    expect(b).not.toBe(a);
    expect(app).toEqual({ id: undefined });
    expect(await octokitFor(2)).toBe(b);
    expect(made).toEqual([1, 2, undefined]);
  });

  it("forgets a failure: the next call for that installation tries again", async () => {
    let attempts = 0;
    const octokitFor = octokitPerInstallation(async () => {
      attempts++;
      if (attempts === 1) throw new Error("GitHub is down");
      return {} as Octokit;
    });
    await expect(octokitFor(7)).rejects.toThrow("GitHub is down");
    const octokit = await octokitFor(7);
    expect(await octokitFor(7)).toBe(octokit);
    expect(attempts).toBe(2);
  });
});
