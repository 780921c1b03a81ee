import { loadavg } from "node:os";
import { startHarness, type Harness } from "./harness.js";
import { formatTable, machineSummary, type Row } from "./table.js";

/**
 * One figure of `npm run bench` on its own (bench/run-ack.ts, bench/run-footprint.ts): the harness,
 * `measure`, then the table of its rows on stdout; progress on stderr as `[label …] …`, and the raw
 * samples as JSON with `detailEnv`=1. Exits 1, saying why, when the measurement fails.
 */
export function runAlone(
  label: string,
  detailEnv: string,
  measure: (h: Harness, progress: (msg: string) => void) => Promise<{ rows: Row[]; detail: Record<string, unknown> }>,
): void {
  const main = async () => {
    const began = performance.now();
    const loadAtStart = loadavg()[0]!;
    const progress = (msg: string) =>
      process.stderr.write(`[${label} ${((performance.now() - began) / 1000).toFixed(0).padStart(4)} s] ${msg}\n`);
    const h = await startHarness();
    try {
      const result = await measure(h, progress);
      if (process.env[detailEnv] === "1") process.stderr.write(`${JSON.stringify(result.detail)}\n`);
      process.stdout.write(
        formatTable({
          date: new Date().toISOString(),
          commit: "-",
          machine: machineSummary(loadAtStart),
          durationS: Math.round((performance.now() - began) / 1000),
          rows: result.rows,
          detail: {},
        }),
      );
    } finally {
      await h.stop();
    }
  };
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(
        `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exit(1);
    },
  );
}
