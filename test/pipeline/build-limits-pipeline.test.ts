import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildCgroupLayout } from "../../src/process/limits/build-cgroup.js";
import { DEFAULT_BUILD_LIMITS, type BuildLimits } from "../../src/process/limits/build-limits.js";
import type { SandboxSettings } from "../../src/process/sandbox/resolve-sandbox.js";
import { runStages } from "../../src/pipeline/run-stages.js";
import { testStep } from "../../src/pipeline/steps/test.js";
import type { RepoConfig, StepResult } from "../../src/pipeline/types.js";
import { makeRepo } from "../support/git-repo.js";
import { BWRAP, ROOT_USER } from "../support/hostile-build.js";

/**
 * A build that hogs memory, forks without end or fills the disk is stopped by
 * its limits and ends in `error` saying which, through the pipeline as the
 * server runs it (real sandbox, real cgroup). Each runs only where the limit
 * can be enforced here, and each is bounded without it too (512 MiB, 500
 * sleeping processes, 400 MiB of disk; the step's timeout), so that a limit
 * that does not hold fails the test instead of the machine.
 */
const CGROUP = (await buildCgroupLayout()).kind !== "none";
const MIB = 1024 * 1024;
const LIMITS: BuildLimits = { memoryBytes: 128 * MIB, processes: 64, tmpBytes: 16 * MIB, diskBytes: 64 * MIB };

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const config: RepoConfig = {
  check: { enforceTypeErrors: undefined },
  test: { startDir: ".", pattern: "test*.py" },
  install: [],
  docs: { install: [], warningsAsErrors: false },
};

async function build(
  mode: SandboxSettings["mode"],
  test: string,
  limits = LIMITS,
): Promise<{ result: StepResult; text: string; ms: number }> {
  const repo = makeRepo({ "test_hostile.py": test });
  const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
  cleanups.push(
    () => repo.remove(),
    () => rmSync(scratchDir, { recursive: true, force: true }),
  );
  let text = "";
  const started = Date.now();
  const [result] = await runStages([[testStep]], {
    dir: repo.dir,
    scratchDir,
    repoConfig: config,
    python: "/usr/bin/python3",
    timeoutMs: 60_000,
    sandbox: { mode, uids: { first: 940_000, count: 100 }, hidden: [], limits },
    openLog: () => ({ write: (t) => (text += t), close() {} }),
  });
  return { result: result!, text, ms: Date.now() - started };
}

const unittest = (body: string) => `import os, unittest


class Hostile(unittest.TestCase):
    def test_it(self):
${body
  .split("\n")
  .map((line) => `        ${line}`)
  .join("\n")}
`;

const modes = [
  { mode: "bwrap" as const, runs: BWRAP && ROOT_USER },
  { mode: "user" as const, runs: ROOT_USER },
];

describe.each(modes)("a build's limits, CI_SANDBOX=$mode", ({ mode, runs }) => {
  it.skipIf(!runs || !CGROUP)("a memory hog is killed, and the build says it used more than its memory", async () => {
    const { result, ms } = await build(
      mode,
      unittest("hog = []\nfor _ in range(64):\n    hog.append(bytearray(8 * 1024 * 1024))"),
    );
    expect(result).toMatchObject({
      state: "error",
      summary: "The build used more than 128 MiB of memory (CI_BUILD_MEMORY)",
    });
    expect(ms).toBeLessThan(60_000);
  });

  it.skipIf(!runs || !CGROUP)("a fork bomb is refused at the process limit, and the build says so", async () => {
    const bomb =
      "import time\nchildren = []\nfor _ in range(500):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(5)\n        os._exit(0)\n    children.append(pid)";
    const { result, ms } = await build(mode, unittest(bomb));
    expect(result).toMatchObject({
      state: "error",
      summary: "The build started more than 64 processes and threads at once (CI_BUILD_PROCESSES)",
    });
    expect(ms).toBeLessThan(60_000);
  });

  it.skipIf(!runs)(
    "a test that fills the disk is stopped, and the build says it wrote more than its disk",
    async () => {
      const fill =
        "with open('filler', 'wb') as f:\n    for _ in range(400):\n        f.write(b'x' * 1024 * 1024)\n        f.flush()\n        os.fsync(f.fileno())\n        __import__('time').sleep(0.01)";
      const { result, ms } = await build(mode, unittest(fill));
      expect(result).toMatchObject({
        state: "error",
        summary: "The build wrote more than 64 MiB to disk (CI_BUILD_DISK)",
      });
      expect(ms).toBeLessThan(60_000);
    },
  );

  it.skipIf(!runs || !BWRAP || mode !== "bwrap")("bwrap's /tmp is as large as CI_BUILD_TMP", async () => {
    const { result, text } = await build(
      mode,
      unittest("s = os.statvfs('/tmp')\nprint('TMP', s.f_blocks * s.f_frsize)"),
      { ...DEFAULT_BUILD_LIMITS, tmpBytes: 16 * MIB },
    );
    expect(result.state, text).toBe("success");
    expect(Number(/TMP (\d+)$/m.exec(text)?.[1]), text).toBe(16 * MIB);
  });
});
