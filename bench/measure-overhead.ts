import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestRepo } from "../test/support/git-repo.js";
import type { BenchServer, BuildJson } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import { type Harness, OWNER } from "./harness.js";
import { rounded } from "./measure-pending.js";
import { median } from "./stats.js";
import { type Row, within } from "./table.js";
import { watchBuild, type BuildTiming } from "./watch-build.js";
import { importHistory } from "./import-history.js";
import {
  HISTORY_COMMITS,
  projectHistory,
  pythonProject,
  testHeavyProject,
  TEST_HEAVY_MODULES,
  TESTS_PER_MODULE,
  WAITING_MODULES,
  waitingTests,
} from "./workload.js";

/** The pyright pyci runs (node_modules/pyright), by its bin script. */
const PYRIGHT = fileURLToPath(new URL("../node_modules/.bin/pyright", import.meta.url));

/** A repository pyci has built once, cold: the warm and reuse figures build it again. */
export interface ColdRepo {
  name: string;
  repo: TestRepo;
  prNumber: number;
  timing: BuildTiming;
  build: BuildJson;
  hand: HandRun;
}

/** What figure 3 builds, and the row it makes. */
export interface FirstBuildWorkload {
  id: "first_build_vs_hand" | "first_build_vs_hand_test_heavy";
  figure: string;
  /** Repositories are named `bench-<prefix>-<rep>`. */
  prefix: string;
  files(variant: string): Record<string, string>;
  /** The history imported under the last tree (a hand clone fetches it all). */
  history: number;
  /** The repositories' `.github/pyci.yml`, as the fake GitHub serves it. */
  repoConfig?: string;
  /** What the project is, for the row's note. */
  what: string;
}

/** Today's pyright-heavy project: pyright is most of its build. */
export const PYRIGHT_HEAVY: FirstBuildWorkload = {
  id: "first_build_vs_hand",
  figure: "3. First build / by hand",
  prefix: "cold",
  files: (variant) => pythonProject(variant),
  history: HISTORY_COMMITS,
  what: `a ${Object.keys(pythonProject("")).filter((p) => p.endsWith(".py")).length}-file project (pyright-heavy) with ${HISTORY_COMMITS} commits of history`,
};

/** A project shaped like the real ones whose tests take most of the build, with `test.parallel: auto`. */
export const TEST_HEAVY: FirstBuildWorkload = {
  id: "first_build_vs_hand_test_heavy",
  figure: "3b. First build / by hand, test-heavy",
  prefix: "tests",
  files: (variant) => testHeavyProject(variant),
  history: 100,
  repoConfig: "test:\n  parallel: auto\n",
  what:
    `a test-heavy project (${TEST_HEAVY_MODULES} typed modules; ${waitingTests(WAITING_MODULES) + TEST_HEAVY_MODULES * TESTS_PER_MODULE} tests, ` +
    "most of them waiting as on a database) with 100 commits of history and `test.parallel: auto`",
};

export interface HandRun {
  cloneMs: number;
  pyrightMs: number;
  unittestMs: number;
  totalMs: number;
}

/**
 * Figure 3: a first build of the generated project (delivery → every status final and the check run
 * completed), against the same work by hand in the same run: `git clone` over the same sshd, then
 * `pyright --outputjson .` (the same binary) and `python3 -m unittest discover`, one after the other.
 *
 * Each repetition uses a repository pyci has never seen (its own name and path, a distinct tree), so the
 * object cache and the result cache are cold. Repetition 0 is a warm-up; the order of pyci and the hand
 * run alternates, so neither always finds the other's files in the page cache. Repetitions past the
 * first measured one start only before `openUntil` (the run's time budget).
 */
export async function measureOverhead(
  h: Harness,
  server: BenchServer,
  o: { reps: number; openUntil: number; workload?: FirstBuildWorkload },
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown>; repos: ColdRepo[] }> {
  const workload = o.workload ?? PYRIGHT_HEAVY;
  const runId = Date.now().toString(36);
  const repos: ColdRepo[] = [];
  const history = projectHistory(workload.history);
  // the warm-up and one measured repetition always; more while the run's time budget allows
  for (let i = 0; i <= o.reps && (i < 2 || performance.now() < o.openUntil); i++) {
    const name = `bench-${workload.prefix}-${i}`;
    const repo = h.repo(name, workload.files(`${runId} rep ${i}`));
    importHistory(repo, history);
    if (workload.repoConfig) h.fake.setContent(OWNER, name, ".github/pyci.yml", workload.repoConfig);
    const prNumber = (workload === PYRIGHT_HEAVY ? 300 : 400) + i;
    const byPyci = async () => {
      const delivery = await pullRequestDelivery(h, {
        repo: name,
        dir: repo.dir,
        number: prNumber,
        sha: repo.sha,
        action: "opened",
      });
      const timing = await watchBuild(h, {
        hookUrl: server.hookUrl,
        delivery,
        sha: repo.sha,
        contexts: ["ci/check", "ci/test"],
        checkRun: "pyci",
      });
      return { timing, build: await server.build(timing.buildId) };
    };
    const byHand = () => handRun(h, repo, join(h.root, "hand", name));
    let pyci: Awaited<ReturnType<typeof byPyci>>;
    let hand: HandRun;
    if (i % 2 === 0) {
      hand = await byHand();
      pyci = await byPyci();
    } else {
      pyci = await byPyci();
      hand = await byHand();
    }
    progress(
      `${workload.prefix} rep ${i}${i === 0 ? " (warm-up)" : ""}: pyci ${(pyci.timing.finalMs / 1000).toFixed(1)} s (${stepLine(pyci.build)}), by hand ${(hand.totalMs / 1000).toFixed(1)} s`,
    );
    repos.push({ name, repo, prNumber, ...pyci, hand });
  }
  const measured = repos.slice(1);
  const pyciMs = median(measured.map((r) => r.timing.finalMs));
  const handMs = median(measured.map((r) => r.hand.totalMs));
  const step = (name: string) => median(measured.map((r) => stepMs(r.build, name)));
  const rows: Row[] = [
    {
      id: workload.id,
      figure: workload.figure,
      target: 0.6,
      op: "<=",
      measured: pyciMs / handMs,
      unit: "x",
      baseline: handMs,
      baselineUnit: "ms",
      baselineWhat: "clone+pyright+unittest",
      ratio: pyciMs / handMs,
      n: measured.length,
      met: within(pyciMs / handMs, "<=", 0.6),
      note:
        `pyci ${fmt(pyciMs)}: cold first builds of ${workload.what}, delivery → last final report; ` +
        `pyci steps (median): checkout ${fmt(step("checkout"))}, check ${fmt(step("check"))}, test ${fmt(step("test"))}; ` +
        `by hand: clone ${fmt(median(measured.map((r) => r.hand.cloneMs)))}, pyright ${fmt(median(measured.map((r) => r.hand.pyrightMs)))}, ` +
        `unittest ${fmt(median(measured.map((r) => r.hand.unittestMs)))}`,
    },
  ];
  return {
    rows,
    detail: {
      builds: repos.map((r) => ({
        repo: r.name,
        warmUp: r === repos[0],
        ...rounded(r.timing),
        steps: stepDurations(r.build),
        hand: r.hand,
      })),
    },
    repos: measured,
  };
}

/** The same work as a person in a shell: clone over the same SSH transport, then pyright, then the tests. */
async function handRun(h: Harness, repo: TestRepo, dir: string): Promise<HandRun> {
  rmSync(dir, { recursive: true, force: true });
  const env = { ...process.env, GIT_SSH_COMMAND: h.handSsh() };
  const cloneMs = await timed("git", ["clone", "-q", h.sshd.sshUrl(repo.dir), dir], { env, cwd: h.root }, [0]);
  const pyrightMs = await timed(PYRIGHT, ["--outputjson", "."], { env: process.env, cwd: dir }, [0, 1]);
  const unittestMs = await timed("python3", ["-m", "unittest", "discover"], { env: process.env, cwd: dir }, [0]);
  rmSync(dir, { recursive: true, force: true });
  return { cloneMs, pyrightMs, unittestMs, totalMs: cloneMs + pyrightMs + unittestMs };
}

function timed(
  cmd: string,
  args: string[],
  o: { env: NodeJS.ProcessEnv; cwd: string },
  okCodes: number[],
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { ...o, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.once("error", reject);
    child.once("exit", (code) => {
      const ms = performance.now() - started;
      if (okCodes.includes(code ?? -1)) resolve(ms);
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}:\n${stderr}`));
    });
  });
}

export function stepMs(build: BuildJson, name: string): number {
  return build.steps.find((s) => s.name === name)?.durationMs ?? Number.NaN;
}

export function stepDurations(build: BuildJson): Record<string, number> {
  return Object.fromEntries(build.steps.map((s) => [s.name, s.durationMs]));
}

function stepLine(build: BuildJson): string {
  return build.steps.map((s) => `${s.name} ${s.state} ${fmt(s.durationMs)}`).join(", ");
}

export function fmt(ms: number): string {
  return Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "n/a";
}
