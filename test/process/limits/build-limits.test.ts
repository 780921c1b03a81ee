import { describe, expect, it } from "vitest";
import { DEFAULT_BUILD_LIMITS, describeLimitHit } from "../../../src/process/limits/build-limits.js";

describe("describeLimitHit", () => {
  it("says which limit the build hit, with its size and its setting", () => {
    expect(describeLimitHit("memory", DEFAULT_BUILD_LIMITS)).toBe("used more than 4 GiB of memory (CI_BUILD_MEMORY)");
    expect(describeLimitHit("processes", DEFAULT_BUILD_LIMITS)).toBe(
      "started more than 4096 processes and threads at once (CI_BUILD_PROCESSES)",
    );
    expect(describeLimitHit("tmp", DEFAULT_BUILD_LIMITS)).toBe("filled its 1 GiB /tmp (CI_BUILD_TMP)");
    expect(describeLimitHit("disk", DEFAULT_BUILD_LIMITS)).toBe("wrote more than 10 GiB to disk (CI_BUILD_DISK)");
  });

  it("writes sizes in the largest binary unit, with at most one decimal", () => {
    const limits = {
      ...DEFAULT_BUILD_LIMITS,
      memoryBytes: 1.5 * 1024 ** 3,
      diskBytes: 64 * 1024 ** 2,
      tmpBytes: 1536 * 1024,
    };
    expect(describeLimitHit("memory", limits)).toMatch(/more than 1\.5 GiB/);
    expect(describeLimitHit("disk", limits)).toMatch(/more than 64 MiB/);
    expect(describeLimitHit("tmp", limits)).toMatch(/its 1\.5 MiB/);
  });
});
