import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { DEFAULT_BUILD_LIMITS } from "../../../src/process/limits/build-limits.js";
import { rlimitCommand } from "../../../src/process/limits/rlimit-command.js";

const PYRIGHT = fileURLToPath(new URL("../../../node_modules/pyright/index.js", import.meta.url));
/** The system's interpreter: a uid of its own cannot read pyenv's under /root. */
const PYTHON = "/usr/bin/python3";
const BUILD_UID = "60123";
const MIB = 1024 * 1024;
const root = process.getuid?.() === 0;

interface Outcome {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/** Runs a command line with a hard timeout (SIGKILL), never rejecting. */
function runLine(line: { cmd: string; args: string[] }, cwd = "/", timeoutMs = 30_000): Promise<Outcome> {
  return new Promise((resolve) => {
    execFile(
      line.cmd,
      line.args,
      { cwd, timeout: timeoutMs, killSignal: "SIGKILL", encoding: "utf8" },
      (error, stdout, stderr) => {
        const failed = error as (Error & { code?: number | string; signal?: string }) | null;
        resolve({
          code: failed ? (typeof failed.code === "number" ? failed.code : null) : 0,
          signal: failed?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

const asBuildUser = (args: string[]) => ({
  cmd: "setpriv",
  args: ["--reuid", BUILD_UID, "--regid", BUILD_UID, "--clear-groups", "--", ...args],
});

const dir = mkdtempSync(join(tmpdir(), "pyci-rlimit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What names this file's fork bomb among the processes (its source is in its command line). */
const BOMB_MARK = "pyci-rlimit-command-test-bomb";
/** Forks sleeping children (at most 200) until the kernel refuses, prints how many, then kills them. */
const FORK_BOMB = `# ${BOMB_MARK}
import os, signal, time
pids = []
try:
    for _ in range(200):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        pids.append(pid)
    print("forked", len(pids), "refused none")
except OSError as e:
    print("forked", len(pids), "refused", e.errno)
for pid in pids:
    os.kill(pid, signal.SIGKILL)
for pid in pids:
    os.waitpid(pid, 0)
`;

/** Whatever this file's fork bomb left behind, should a test time out: its processes only, by pid. */
afterEach(() => {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(BOMB_MARK)) process.kill(Number(entry), "SIGKILL");
    } catch {
      // gone, or not a process
    }
  }
});

describe("rlimitCommand", () => {
  it("puts prlimit with the process, data and file size limits in front of the command", () => {
    expect(
      rlimitCommand({ cmd: "setpriv", args: ["--reuid", "1", "--", "python3", "-c", "x"] }, DEFAULT_BUILD_LIMITS),
    ).toEqual({
      cmd: "prlimit",
      args: [
        "--nproc=4096",
        `--data=${4 * 1024 * MIB}`,
        `--fsize=${10 * 1024 * MIB}`,
        "--",
        "setpriv",
        "--reuid",
        "1",
        "--",
        "python3",
        "-c",
        "x",
      ],
    });
  });

  it.skipIf(!root)("bounds a fork bomb of a uid of its own to the process limit", { timeout: 60_000 }, async () => {
    const limits = { ...DEFAULT_BUILD_LIMITS, processes: 32 };
    // the limit is in force for the build's uid before anything forks
    const check = await runLine(
      rlimitCommand(
        asBuildUser([
          PYTHON,
          "-c",
          "import os, resource; print(os.getuid(), resource.getrlimit(resource.RLIMIT_NPROC))",
        ]),
        limits,
      ),
    );
    expect(check.stdout.trim()).toBe(`${BUILD_UID} (32, 32)`);

    const bomb = await runLine(rlimitCommand(asBuildUser([PYTHON, "-c", FORK_BOMB]), limits));
    expect(bomb.code).toBe(0);
    const [, forked, errno] = /^forked (\d+) refused (\d+)$/.exec(bomb.stdout.trim()) ?? [];
    expect(Number(errno)).toBe(11); // EAGAIN
    // other processes of the uid (another test's) count too, so fewer may be allowed, never more
    expect(Number(forked)).toBeGreaterThan(0);
    expect(Number(forked)).toBeLessThan(32);
  });

  it("bounds a process's memory by its data limit, and pyright still runs under the default", {
    timeout: 60_000,
  }, async () => {
    const small = { ...DEFAULT_BUILD_LIMITS, memoryBytes: 128 * MIB };
    const hog = await runLine(rlimitCommand({ cmd: PYTHON, args: ["-c", "b = bytearray(256 << 20)"] }, small));
    expect(hog.code).toBe(1);
    expect(hog.stderr).toContain("MemoryError");

    const version = await runLine(
      rlimitCommand({ cmd: process.execPath, args: [PYRIGHT, "--version"] }, DEFAULT_BUILD_LIMITS),
    );
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^pyright \d/);

    writeFileSync(join(dir, "typed.py"), 'count: int = "three"\n');
    const check = await runLine(
      rlimitCommand({ cmd: process.execPath, args: [PYRIGHT, "--outputjson", "typed.py"] }, DEFAULT_BUILD_LIMITS),
      dir,
      50_000,
    );
    expect(check.code).toBe(1); // one error found: pyright ran to the end
    expect(JSON.parse(check.stdout)).toMatchObject({ summary: { errorCount: 1 } });
  });

  it("stops a file at the file size limit", { timeout: 30_000 }, async () => {
    const limits = { ...DEFAULT_BUILD_LIMITS, diskBytes: 1 * MIB };
    const big = join(dir, "big");
    const write = await runLine(
      rlimitCommand({ cmd: "sh", args: ["-c", 'head -c 4194304 /dev/zero > "$1"', "sh", big] }, limits),
    );
    expect(write.code === 0 && write.signal === null).toBe(false);
    expect(statSync(big).size).toBe(1 * MIB);
  });
});
