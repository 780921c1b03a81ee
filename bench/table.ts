import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname } from "node:path";
import { round } from "./stats.js";

/** The figures a machine checks run after run: their names never change (bench/results/latest.json). */
export type FigureId =
  | "ack_p50_vs_bare"
  | "ack_server_ms_per_delivery"
  | "pending_p99_ms"
  | "first_build_vs_hand"
  | "first_build_vs_hand_test_heavy"
  | "warm_checkout_vs_clone"
  | "install_reuse_ratio"
  | "parallel_test_ratio"
  | "idle_rss_mb"
  | "rss_mb_per_100_builds"
  | "scale_throughput_4_vs_1"
  | "handover_ms_vs_local";

/** One line of the results table. Times in ms, sizes in MB, ratios plain. */
export interface Row {
  /** Set on the figures with a target: then `measured` is the value the target bounds, `target` a number, `op` its comparison. */
  id?: FigureId;
  /** "1. Acknowledgement p50" … */
  figure: string;
  /** The bound on `measured` (with `op`) when the row has an id; else what is expected, as text ("reused"), or "—". */
  target: number | string;
  op?: "<" | "<=" | ">=";
  /** The figure's value (the median, or the single value), with its unit in `unit`. */
  measured: number;
  p99?: number;
  unit: "ms" | "MB" | "MB/100 builds" | "x" | "%" | "";
  /** The baseline measured side by side in the same run, and what it is. */
  baseline?: number;
  baselineWhat?: string;
  /** The baseline's unit when it is not `unit`. */
  baselineUnit?: Row["unit"];
  /** measured / baseline, or the figure the target is about when it is itself a ratio. */
  ratio?: number;
  /** Samples behind `measured`. */
  n: number;
  /** true/false when the target is met or not; null when this run could not tell. */
  met: boolean | null;
  note?: string;
}

export interface Results {
  date: string;
  commit: string;
  machine: Record<string, string | number>;
  durationS: number;
  rows: Row[];
  /** Raw samples and per-build details, for comparing runs. */
  detail: Record<string, unknown>;
}

/** The table as text: one line per figure, aligned, notes below. */
export function formatTable(results: Results): string {
  const header = ["figure", "target", "median", "p99", "baseline (same run)", "ratio", "n", "met"];
  const lines = results.rows.map((r) => [
    r.figure,
    typeof r.target === "number" ? `${r.op ?? "<="} ${value(r.target, r.unit)}` : r.target,
    value(r.measured, r.unit),
    r.p99 === undefined ? "" : value(r.p99, r.unit),
    r.baseline === undefined
      ? ""
      : `${value(r.baseline, r.baselineUnit ?? r.unit)}${r.baselineWhat ? ` ${r.baselineWhat}` : ""}`,
    r.ratio === undefined ? "" : fixed(r.ratio, 2),
    String(r.n),
    r.met === null ? (r.target === "—" ? "—" : "?") : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  const notes = results.rows.filter((r) => r.note).map((r) => `- ${r.figure}: ${r.note}`);
  return [
    `pyci benchmark, ${results.date}, commit ${results.commit}, ${results.machine.cpus} cores (${results.machine.cpuModel}), ` +
      `load average ${results.machine.loadAverage1mAtStart} → ${results.machine.loadAverage1mAtEnd}, ${results.durationS} s`,
    "",
    row(header),
    row(widths.map((w) => "-".repeat(w))),
    ...lines.map(row),
    ...(notes.length > 0 ? ["", ...notes] : []),
    "",
  ].join("\n");
}

/** Whether `measured` is within `target` by `op`; null when it could not be measured. */
export function within(measured: number, op: "<" | "<=" | ">=", target: number): boolean | null {
  if (!Number.isFinite(measured)) return null;
  if (op === ">=") return measured >= target;
  return op === "<" ? measured < target : measured <= target;
}

export function writeResults(path: string, results: Results): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(results, null, 2)}\n`);
}

function value(v: number, unit: Row["unit"]): string {
  if (!Number.isFinite(v)) return "n/a";
  if (unit === "ms") return v >= 10_000 ? `${fixed(v / 1000, 1)} s` : `${fixed(v, v < 10 ? 2 : v < 100 ? 1 : 0)} ms`;
  if (unit === "x") return `${fixed(v, 2)}x`;
  if (unit === "") return fixed(v, 2);
  return `${fixed(v, 1)} ${unit}`;
}

function fixed(v: number, digits: number): string {
  return Number.isFinite(v) ? v.toFixed(digits) : "n/a";
}

/** The machine as every results table names it: cores, CPU, and how busy it was from `loadAtStart` to now. */
export function machineSummary(loadAtStart: number): Record<string, string | number> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? "unknown",
    // other work on the machine inflates every figure but the ratios less: say how busy it was
    loadAverage1mAtStart: round(loadAtStart),
    loadAverage1mAtEnd: round(loadavg()[0]!),
  };
}
