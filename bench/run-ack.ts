import { cpus, loadavg } from "node:os";
import { startHarness } from "./harness.js";
import { measureAck } from "./measure-ack.js";
import { formatTable } from "./table.js";

/**
 * Figure 1 alone (`npm run build && npx vite-node bench/run-ack.ts`): the acknowledgement rows of
 * `npm run bench`, measured the same way (measureAck), in a minute instead of the whole run.
 * BENCH_ACK_ROUNDS (6) as there; the raw samples go to stderr as JSON with BENCH_ACK_DETAIL=1.
 */
async function main(): Promise<void> {
  const began = performance.now();
  const loadAtStart = loadavg()[0]!;
  const h = await startHarness();
  try {
    const rounds = Number(process.env.BENCH_ACK_ROUNDS) > 0 ? Number(process.env.BENCH_ACK_ROUNDS) : 6;
    const ack = await measureAck(h, rounds, (msg) => process.stderr.write(`[ack] ${msg}\n`));
    if (process.env.BENCH_ACK_DETAIL === "1") process.stderr.write(`${JSON.stringify(ack.detail)}\n`);
    process.stdout.write(
      formatTable({
        date: new Date().toISOString(),
        commit: "-",
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", loadAverage1mAtStart: round(loadAtStart), loadAverage1mAtEnd: round(loadavg()[0]!) },
        durationS: Math.round((performance.now() - began) / 1000),
        rows: ack.rows,
        detail: {},
      }),
    );
  } finally {
    await h.stop();
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
