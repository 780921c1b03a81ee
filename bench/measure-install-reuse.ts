import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { SYSTEM_PYTHON } from "../test/support/hostile-build.js";
import { writeWheel } from "../test/support/write-wheel.js";
import type { BenchServer } from "./bench-server.js";
import { pullRequestDelivery } from "./deliver.js";
import type { Harness } from "./harness.js";
import { fmt, stepDurations, stepMs } from "./measure-overhead.js";
import { type Row, within } from "./table.js";
import { watchBuild } from "./watch-build.js";
import { tinyProject } from "./workload.js";

/**
 * Installed environments are reused: a repository whose requirements.txt installs a wheel it ships
 * (no index), built twice — its pull request opened, then a second commit that changes a module
 * but not the requirements. The second build's install step (the cached virtualenv lent) against
 * the first's (the virtualenv made and kept): `install_reuse_ratio`, target ≤ 0.1.
 */
export async function measureInstallReuse(
  h: Harness,
  server: BenchServer,
  progress: (msg: string) => void,
): Promise<{ rows: Row[]; detail: Record<string, unknown> }> {
  const name = "bench-install";
  const repo = h.repo(name, {
    ...tinyProject(),
    "requirements.txt": "--no-index\n--find-links wheels\npyci-demo==0.1\n",
  });
  writeWheel(SYSTEM_PYTHON ?? "python3", join(repo.dir, "wheels"), {
    module: "pyci_demo",
    dist: "pyci-demo",
    source: "def greet(name):\n    return 'hello, ' + name\n",
  });
  execFileSync("git", ["add", "wheels"], { cwd: repo.dir });
  repo.git("commit", "-q", "-m", "the wheel");
  const build = async (sha: string, action: string) => {
    const delivery = await pullRequestDelivery(h, { repo: name, dir: repo.dir, number: 950, sha, action });
    const timing = await watchBuild(h, {
      hookUrl: server.hookUrl,
      delivery,
      sha,
      contexts: ["ci/check", "ci/test"],
      checkRun: "pyci",
    });
    return server.build(timing.buildId);
  };
  const first = await build(repo.git("rev-parse", "HEAD"), "opened");
  const second = await build(
    repo.commit({ "calc.py": "def add(a: int, b: int) -> int:\n    return b + a\n" }),
    "synchronize",
  );
  const [firstMs, secondMs] = [stepMs(first, "install"), stepMs(second, "install")];
  const ratio = secondMs / firstMs;
  const summary = second.steps.find((s) => s.name === "install")?.summary ?? "";
  progress(`install: first ${fmt(firstMs)}, second ${fmt(secondMs)} (${summary})`);
  const row: Row = {
    id: "install_reuse_ratio",
    figure: "7. Install step, environment reused / first",
    target: 0.1,
    op: "<=",
    measured: ratio,
    unit: "x",
    baseline: firstMs,
    baselineUnit: "ms",
    baselineWhat: "first build's install",
    ratio,
    n: 1,
    met: first.state === "success" && second.state === "success" ? within(ratio, "<=", 0.1) : false,
    note: `${secondMs.toFixed(0)} ms: the install step of a second commit with the same requirements.txt; builds ${first.state}, ${second.state}`,
  };
  return {
    rows: [row],
    detail: { install_reuse_ratio: ratio, first: stepDurations(first), second: stepDurations(second), summary },
  };
}
