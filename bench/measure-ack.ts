import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { AckReply, AckRequest } from "./ack-client.js";
import { startFloorServer } from "./floor-server.js";
import { measureAckCpu } from "./measure-ack-cpu.js";
import { startBenchServer } from "./bench-server.js";
import { pullRequestDelivery, type Delivery } from "./deliver.js";
import type { Harness } from "./harness.js";
import { median, p99, round as roundTo } from "./stats.js";
import { type Row, within } from "./table.js";
import { tinyProject } from "./workload.js";

export const CLIENTS = 50;
/** Distinct commits the 50 deliveries of a round point at: mostly already-known commits, as GitHub redelivers and several PRs share heads. */
const COMMITS = 5;

/**
 * Figure 1: 50 concurrent signed `pull_request.synchronize` deliveries, webhook request → 2xx.
 *
 * 1. A server of its own (its queue fills with the builds these deliveries ask for; it is killed afterwards,
 *    so that the later figures start from an idle server).
 * 2. The baseline: a bare node:http server in a process of its own that reads the body and answers 200,
 *    the floor of loopback HTTP for the same client and the same requests.
 * 3. One warm-up round to each (it opens the connections), then `rounds` rounds of 50 at once, alternating
 *    which goes first, from one client in a process of its own (ack-client.ts: whole requests written on
 *    kept-alive connections, as a load generator does; this process answers the server's GitHub writes);
 *    then 50 one after another, for a delivery's own cost.
 * 4. The server's side of the same requests: its access log's time from request headers to response end.
 * Before all that, the server's CPU per delivery on a server of its own (measureAckCpu).
 */
export async function measureAck(
  h: Harness,
  rounds: number,
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown>; floorRssMb: number }> {
  const cpuRows = await measureAckCpu(h, CLIENTS, progress);
  const repo = h.repo("bench-ack", tinyProject());
  const commits = [repo.sha];
  while (commits.length < COMMITS) commits.push(repo.commit({}, `known commit ${commits.length}`));
  const server = await startBenchServer(h, "ack");
  const floor = await startFloorServer();
  const client = await startAckClient();
  try {
    const round = () =>
      Promise.all(
        Array.from({ length: CLIENTS }, (_, k) =>
          pullRequestDelivery(h, { repo: "bench-ack", dir: repo.dir, number: k + 1, sha: commits[k % COMMITS]! }),
        ),
      );
    const fire = async (url: string, deliveries: Delivery[]) => {
      const results = await client.send(url, deliveries);
      const refused = results.filter((r) => r.status < 200 || r.status >= 300);
      if (refused.length > 0)
        throw new Error(`${refused.length} deliveries were refused (status ${refused[0]!.status})`);
      return results.map((r) => r.ms);
    };
    const pyci: number[] = [];
    const bare: number[] = [];
    const measured = new Set<string>();
    for (let r = 0; r <= rounds; r++) {
      const [forPyci, forFloor] = [await round(), await round()];
      const order = r % 2 === 0 ? (["pyci", "floor"] as const) : (["floor", "pyci"] as const);
      for (const which of order) {
        const ms = which === "pyci" ? await fire(server.hookUrl, forPyci) : await fire(floor.url, forFloor);
        if (r > 0) (which === "pyci" ? pyci : bare).push(...ms);
        if (r > 0 && which === "pyci") for (const d of forPyci) measured.add(d.deliveryId);
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      progress(`ack round ${r}${r === 0 ? " (warm-up)" : ""}: pyci p50 ${median(pyci).toFixed(1)} ms so far`);
    }
    // one at a time: a delivery's own cost, without 49 others ahead of it
    const alone: number[] = [];
    const aloneFloor: number[] = [];
    const singles = await round();
    const singlesFloor = await round();
    for (let k = 0; k < CLIENTS; k++) {
      alone.push(...(await fire(server.hookUrl, [singles[k]!])));
      aloneFloor.push(...(await fire(floor.url, [singlesFloor[k]!])));
    }
    const floorRssMb = floor.rssMb();
    // 4. the server's side, from its access log (a line is written once the response is sent: the last may still be on its way)
    const ids = [...measured, ...singles.map((d) => d.deliveryId)];
    let serverMs = accessLogTimes(server.process.output());
    for (let waited = 0; ids.some((id) => !serverMs.has(id)) && waited < 5000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      serverMs = accessLogTimes(server.process.output());
    }
    const serverSide = [...measured].map((id) => serverMs.get(id) ?? Number.NaN);
    const serverAlone = singles.map((d) => serverMs.get(d.deliveryId) ?? Number.NaN);
    if ([...serverSide, ...serverAlone].some(Number.isNaN))
      throw new Error(
        "the server's access log lacks some measured deliveries (is LOG_LEVEL info and LOG_FORMAT json?)",
      );
    const p50Ratio = median(pyci) / median(bare);
    const rows: Row[] = [
      {
        id: "ack_p50_vs_bare",
        figure: "1. Ack p50 vs bare node:http",
        target: 1.5,
        op: "<=",
        measured: p50Ratio,
        unit: "x",
        baseline: median(bare),
        baselineWhat: "bare node:http",
        baselineUnit: "ms",
        ratio: p50Ratio,
        n: pyci.length,
        met: within(p50Ratio, "<=", 1.5),
        note: `${CLIENTS} concurrent signed pull_request.synchronize deliveries (${COMMITS} distinct commits, ${CLIENTS} PRs), ${rounds} rounds after a warm-up; time from writing each request to the last byte of its answer, on kept-alive connections; pyci's p50 ${median(pyci).toFixed(1)} ms`,
      },
      {
        figure: "1. Acknowledgement p99 (info)",
        target: "—",
        measured: p99(pyci),
        unit: "ms",
        baseline: p99(bare),
        baselineWhat: "bare node:http",
        ratio: p99(pyci) / p99(bare),
        n: pyci.length,
        met: null,
      },
      {
        figure: "1. Ack, one at a time (info)",
        target: "—",
        measured: median(alone),
        p99: p99(alone),
        unit: "ms",
        baseline: median(aloneFloor),
        baselineWhat: "bare node:http",
        ratio: median(alone) / median(aloneFloor),
        n: alone.length,
        met: null,
        note: "the same deliveries sent one after another: a delivery's own cost, with no queue of concurrent requests ahead of it",
      },
      ...cpuRows,
      {
        figure: "1. Ack, in the server, one at a time (info)",
        target: "—",
        measured: median(serverAlone),
        p99: p99(serverAlone),
        unit: "ms",
        n: serverAlone.length,
        met: null,
        note: "the one-at-a-time deliveries as the server timed them (access log: request headers → response end, wall time, with the builds of the concurrent rounds running)",
      },
      {
        figure: "1. Ack, in the server, concurrent (info)",
        target: "—",
        measured: median(serverSide),
        p99: p99(serverSide),
        unit: "ms",
        n: serverSide.length,
        met: null,
        note: "the concurrent rounds' deliveries as the server timed them (the client's own time, connecting and the wait before the server reads a request are not in it)",
      },
    ];
    const detail = {
      pyciMs: pyci.map((v) => roundTo(v)),
      floorMs: bare.map((v) => roundTo(v)),
      aloneMs: alone.map((v) => roundTo(v)),
      aloneFloorMs: aloneFloor.map((v) => roundTo(v)),
      serverSideMs: serverSide,
      serverSideAloneMs: serverAlone,
    };
    return { rows, detail, floorRssMb };
  } finally {
    client.stop();
    floor.stop();
    await server.stop(!process.env.BENCH_NODE_ARGS?.includes("--cpu-prof"));
  }
}

/** ack-client.ts in a child process: `send` posts a batch of deliveries at once and resolves with their times. */
async function startAckClient(): Promise<{
  send(url: string, deliveries: Delivery[]): Promise<{ status: number; ms: number }[]>;
  stop(): void;
}> {
  const viteNode = fileURLToPath(new URL("../node_modules/vite-node/vite-node.mjs", import.meta.url));
  const script = fileURLToPath(new URL("./ack-client.ts", import.meta.url));
  const child = spawn(process.execPath, [viteNode, script], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const reap = () => child.kill("SIGKILL");
  process.once("exit", reap);
  const waiting = new Map<number, { resolve(results: AckReply["results"]): void; reject(error: Error): void }>();
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`the ack client exited (${code})`))),
  );
  exited.catch(() => undefined);
  child.on("message", (message: Partial<AckReply> & { ready?: boolean; error?: string }) => {
    if (message.seq === undefined) return;
    const pending = waiting.get(message.seq);
    waiting.delete(message.seq);
    if (message.error !== undefined) pending?.reject(new Error(`the ack client failed: ${message.error}`));
    else pending?.resolve(message.results!);
  });
  await Promise.race([new Promise<void>((resolve) => child.once("message", () => resolve())), exited]);
  let seq = 0;
  return {
    send(url, deliveries) {
      const request: AckRequest = { seq: ++seq, url, deliveries };
      const answered = new Promise<AckReply["results"]>((resolve, reject) =>
        waiting.set(request.seq, { resolve, reject }),
      );
      child.send(request);
      return Promise.race([answered, exited]);
    },
    stop() {
      child.disconnect();
      process.removeListener("exit", reap);
    },
  };
}

/** Webhook requests' server-side times by delivery id, from the server's JSON access log lines (src/http/access-log.ts). */
function accessLogTimes(output: string): Map<string, number> {
  const times = new Map<string, number>();
  for (const line of output.split("\n")) {
    if (!line.includes('"responseTime"')) continue;
    try {
      const entry = JSON.parse(line) as {
        name?: string;
        req?: { id?: string; method?: string };
        responseTime?: number;
      };
      if (
        entry.name === "http" &&
        entry.req?.method === "POST" &&
        typeof entry.req.id === "string" &&
        typeof entry.responseTime === "number"
      ) {
        times.set(entry.req.id, entry.responseTime);
      }
    } catch {
      // not a log line
    }
  }
  return times;
}
