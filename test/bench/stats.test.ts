import { describe, expect, it } from "vitest";
import { median, p99, slope, theilSen } from "../../bench/stats.js";

describe("the benchmark's statistics", () => {
  it("median and p99 interpolate between order statistics", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(p99(Array.from({ length: 101 }, (_, i) => i))).toBe(99);
    expect(median([])).toBeNaN();
  });

  it("a Theil–Sen slope keeps a flat series flat through GC-like peaks that pull least squares up", () => {
    // 60 samples at 130 MB with small noise, and a run of 8 peaks (+40 MB) late in the series
    const points = Array.from({ length: 60 }, (_, i) => ({
      x: i * 10,
      y: 130 + ((i * 7) % 3) * 0.3 + (i >= 45 && i < 53 ? 40 : 0),
    }));
    expect(Math.abs(theilSen(points) * 1000)).toBeLessThan(5);
    expect(slope(points) * 1000).toBeGreaterThan(20);
  });

  it("a Theil–Sen slope finds real growth", () => {
    const points = Array.from({ length: 50 }, (_, i) => ({ x: i * 20, y: 100 + i * 20 * 0.02 + (i % 4) * 0.5 }));
    expect(theilSen(points)).toBeCloseTo(0.02, 2);
  });
});
