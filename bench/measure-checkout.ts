import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { closeSshConnections, ensureSshControlDir, sshControlDir } from "../src/checkout/ssh-connections.js";
import { checkout, createWorkspace, type CloneSource } from "../src/checkout/workspace.js";
import { startDelayProxy } from "./delay-proxy.js";
import { startHarness } from "./harness.js";
import { median } from "./stats.js";
import { importHistory } from "./import-history.js";
import { HISTORY_COMMITS, projectHistory, pythonProject, touchedModule } from "./workload.js";

/**
 * `npx vite-node bench/measure-checkout.ts [rounds]`: the checkout step alone, through the real code
 * (workspace.ts and repo-cache.ts) over the bench's sshd, without the server: for each round a
 * repository the cache has never seen (the bench's project with its history; CHECKOUT_HISTORY=0: without)
 * is checked out cold, then a new commit changing one module warm, and cloned by hand (`git clone`, a new
 * SSH connection, the whole history). Prints the medians and, with CHECKOUT_TRACE=1, where the warm
 * checkout's time goes, by the lines of its log. CHECKOUT_RTT_MS=<ms> puts that round trip between git and
 * the sshd (bench/delay-proxy.ts), as a remote host has; CHECKOUT_SHARED_SSH=0 connects anew for each fetch.
 */
const rounds = Number(process.argv[2] ?? 10);
const trace = process.env.CHECKOUT_TRACE === "1";
const h = await startHarness();
const rttMs = Number(process.env.CHECKOUT_RTT_MS ?? 0);
const proxy = rttMs > 0 ? await startDelayProxy(h.sshd.port, rttMs) : undefined;
const port = proxy?.port ?? h.sshd.port;
const knownHosts = join(h.root, "known_hosts_checkout");
writeFileSync(knownHosts, `[127.0.0.1]:${port} ${h.sshd.hostKey}\n`);
const urlOf = (dir: string) => h.sshd.sshUrl(dir).replace(`:${h.sshd.port}/`, `:${port}/`);
const hand: number[] = [];
const data = mkdtempSync(join(h.root, "data-"));
const work = mkdtempSync(join(h.root, "work-"));
const cold: number[] = [];
const warm: number[] = [];
const perCommand = new Map<string, number[]>();
try {
  for (let i = 0; i < rounds; i++) {
    const repo = h.repo(`checkout-${i}`, pythonProject(`checkout ${i}`));
    if (process.env.CHECKOUT_HISTORY !== "0") importHistory(repo, projectHistory(HISTORY_COMMITS));
    const controlDir = process.env.CHECKOUT_SHARED_SSH === "0" ? undefined : sshControlDir(data);
    if (controlDir) await ensureSshControlDir(controlDir);
    const source: CloneSource = {
      protocol: "ssh",
      url: urlOf(repo.dir),
      sshKeyPath: h.sshd.clientKeyPath,
      knownHostsPath: knownHosts,
      ...(controlDir ? { controlDir } : {}),
    };
    const once = async (sha: string) => {
      const marks: { at: number; what: string }[] = [];
      const log = {
        write: (text: string) => void marks.push({ at: performance.now(), what: text.split("\n")[0]!.slice(0, 60) }),
      };
      const ws = await createWorkspace(work);
      const started = performance.now();
      await checkout(ws, {
        source,
        sha,
        prNumber: 1,
        log,
        timeoutMs: 60_000,
        cache: { dir: data, maxBytes: 1024 ** 3 },
        minFreeDiskBytes: 1,
      });
      const ms = performance.now() - started;
      await ws.remove();
      return { ms, marks: [{ at: started, what: "(start)" }, ...marks, { at: started + ms, what: "(end)" }] };
    };
    const c = await once(repo.sha);
    const sha = repo.commit(touchedModule(7, `round ${i}`), "change one module");
    const w = await once(sha);
    const cloneDir = join(work, `hand-${i}`);
    const cloneStarted = performance.now();
    // not execFileSync: the delaying proxy runs in this process's event loop
    await promisify(execFile)("git", ["clone", "-q", source.url, cloneDir], {
      env: { ...process.env, GIT_SSH_COMMAND: h.handSsh(knownHosts) },
    });
    hand.push(performance.now() - cloneStarted);
    rmSync(cloneDir, { recursive: true, force: true });
    cold.push(c.ms);
    warm.push(w.ms);
    // the time from each line of the checkout's log to the next: a `$ git …` line holds that command and
    // what runs unlogged after it (rev-parse, the cache's bookkeeping) up to the next line
    for (let m = 0; m + 1 < w.marks.length; m++) {
      const key = w.marks[m]!.what.replace(/\b[0-9a-f]{4,40}\b/g, "<sha>").replace(/ssh:\/\/\S+/, "<url>");
      perCommand.set(key, [...(perCommand.get(key) ?? []), w.marks[m + 1]!.at - w.marks[m]!.at]);
    }
    process.stderr.write(
      `round ${i}: cold ${c.ms.toFixed(0)} ms, warm ${w.ms.toFixed(0)} ms, git clone by hand ${hand.at(-1)!.toFixed(0)} ms\n`,
    );
  }
  const c = median(cold.slice(1));
  const w = median(warm.slice(1));
  const g = median(hand.slice(1));
  console.log(
    `${rttMs > 0 ? `round trip ${rttMs} ms: ` : ""}cold checkout median ${c.toFixed(0)} ms, warm ${w.toFixed(0)} ms, git clone by hand ${g.toFixed(0)} ms; ` +
      `warm / cold ${(w / c).toFixed(3)}, warm / clone ${(w / g).toFixed(3)} (n=${cold.length - 1}, round 0 a warm-up)`,
  );
  if (trace) for (const [what, ms] of perCommand) console.log(`  ${median(ms).toFixed(1).padStart(7)} ms  ${what}`);
} finally {
  const controlDir = sshControlDir(data);
  if (controlDir) await closeSshConnections(controlDir);
  rmSync(data, { recursive: true, force: true });
  await proxy?.close();
  await h.stop();
}
