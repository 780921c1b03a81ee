/** Small, pure statistics for the benchmark's samples. */

export function median(xs: number[]): number {
  return quantile(xs, 0.5);
}

/** The 99th percentile, by linear interpolation between order statistics (the maximum below 100 samples, nearly). */
export function p99(xs: number[]): number {
  return quantile(xs, 0.99);
}

export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Least-squares slope of y over x (NaN with fewer than two distinct x). */
export function slope(points: { x: number; y: number }[]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  if (sxx === 0) return Number.NaN;
  return points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0) / sxx;
}

/**
 * Theil–Sen slope of y over x: the median of the slopes between every two points. Unlike least squares it
 * is not pulled by a few outliers (up to ~29% of the points), such as the peaks of RSS before a major GC.
 */
export function theilSen(points: { x: number; y: number }[]): number {
  const slopes: number[] = [];
  for (let i = 0; i < points.length; i++) {
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]!.x - points[i]!.x;
      if (dx !== 0) slopes.push((points[j]!.y - points[i]!.y) / dx);
    }
  }
  return median(slopes);
}

/** `v` to `digits` decimals, for tables and stored samples. */
export function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
