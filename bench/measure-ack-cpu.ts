import { startBenchServer } from "./bench-server.js";
import { startFloorServer } from "./floor-server.js";
import { postDelivery, pullRequestDelivery } from "./deliver.js";
import type { Harness } from "./harness.js";
import { median, p99 } from "./stats.js";
import { type Row, within } from "./table.js";
import { tinyProject } from "./workload.js";

const REPO = "bench-ack-cpu";
/** Deliveries before the measured ones: the server's code paths warmed up (compiled) as in a server that has run a while. */
const WARM_UP = 300;
/** Time left after each answer for the work that follows it (the queued build's GitHub writes, started and held). */
const SETTLE_MS = 30;

/**
 * The server's CPU per accepted delivery, from reading the request to answering it:
 * 1. a server of its own, and the fake GitHub holding this repository's writes, so that no build starts
 *    (each waits for its `pending` to be out) and nothing runs in the server but the deliveries;
 * 2. WARM_UP deliveries, then `count` deliveries one at a time, each for a new commit (each records a new
 *    build: verify, parse, one transaction, queue), each sent once the previous one's GitHub writes are set off,
 *    and each also to a bare node:http server (floor-server.ts);
 * 3. each one's `cpuMs` from the server's access log: the process's user + system CPU time, every thread, from
 *    the request's headers to the response's end (src/http/access-log.ts); nothing else runs meanwhile, so
 *    it is the delivery's own cost. The writes after the answer are not in it.
 */
export async function measureAckCpu(h: Harness, count: number, progress: (msg: string) => void): Promise<Row[]> {
  const repo = h.repo(REPO, tinyProject());
  const held = h.fake.holdNext({ method: "POST", path: new RegExp(`^/repos/acme/${REPO}/`), times: 10 * count });
  const server = await startBenchServer(h, "ack-cpu");
  const floor = await startFloorServer();
  try {
    const ids: string[] = [];
    for (let k = 0; k < WARM_UP + count; k++) {
      if (k === WARM_UP) floor.takeCpuMs();
      const sha = repo.commit({}, `delivery ${k}`);
      const delivery = await pullRequestDelivery(h, { repo: REPO, dir: repo.dir, number: k + 1, sha });
      for (const url of [server.hookUrl, floor.url]) {
        const answer = await postDelivery(url, h.secret, delivery);
        if (answer.status !== 200) throw new Error(`a delivery was answered ${answer.status}`);
      }
      if (k >= WARM_UP) ids.push(delivery.deliveryId);
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    }
    const cpu = await accessLogCpu(() => server.process.output(), ids);
    const bare = floor.takeCpuMs();
    progress(
      `ack CPU: ${median(cpu).toFixed(2)} ms per delivery, bare node:http ${median(bare).toFixed(2)} ms (medians of ${cpu.length})`,
    );
    return [
      {
        id: "ack_server_ms_per_delivery",
        figure: "1. Ack, server CPU per delivery",
        target: 0.3,
        op: "<=",
        measured: median(cpu),
        p99: p99(cpu),
        unit: "ms",
        baseline: median(bare),
        baselineWhat: "bare node:http",
        baselineUnit: "ms",
        ratio: median(cpu) / median(bare),
        n: cpu.length,
        met: within(median(cpu), "<=", 0.3),
        note:
          "the server process's CPU time (user + system, every thread) from a delivery's request headers to its answer, " +
          "deliveries one at a time each recording a new build, nothing else running (builds held at their first GitHub write): " +
          "verify, parse, record, queue, answer; the baseline is a bare node:http server's CPU for the same requests, measured the same way",
      },
    ];
  } finally {
    floor.stop();
    if (process.env.BENCH_NODE_ARGS?.includes("--cpu-prof")) {
      server.process.child.kill("SIGTERM");
      await server.process.exited;
    }
    held.release();
    await server.stop(true);
  }
}

/** The `cpuMs` of the access log lines of `ids` (src/http/access-log.ts), waiting briefly for the last ones. */
async function accessLogCpu(output: () => string, ids: string[]): Promise<number[]> {
  for (let waited = 0; ; waited += 100) {
    const byId = new Map<string, number>();
    for (const line of output().split("\n")) {
      if (!line.includes('"cpuMs"')) continue;
      let entry: { req?: { id?: string }; cpuMs?: number };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (typeof entry.req?.id === "string" && typeof entry.cpuMs === "number") byId.set(entry.req.id, entry.cpuMs);
    }
    if (ids.every((id) => byId.has(id))) return ids.map((id) => byId.get(id)!);
    if (waited >= 5000)
      throw new Error("the server's access log lacks some deliveries (LOG_FORMAT json, LOG_LEVEL info?)");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
