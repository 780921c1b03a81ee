import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/process/exec.js";
import { sandboxEnv } from "../../src/process/sandbox/sandbox-env.js";

const scratch = mkdtempSync(join(tmpdir(), "pyci-exec-"));
const daemons: number[] = [];
afterAll(() => {
  for (const pid of daemons) if (alive(pid)) process.kill(pid, "SIGKILL");
  rmSync(scratch, { recursive: true, force: true });
});

/** python3 from PATH, resolved once (the pyenv shim is slow to start). */
const PYTHON3 = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();

/** Double fork and setsid: a daemon outside the step's process group, deaf to SIGTERM, writing its pid to argv[1]. */
const DAEMON = join(scratch, "daemon.py");
writeFileSync(
  DAEMON,
  `import os, signal, sys, time
if os.fork():
    sys.exit(0)
os.setsid()
if os.fork():
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
null = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(null, fd)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(300)
`,
);

/** Whether a process runs (a zombie waiting for its reaper does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50 && alive(pid); i++) await new Promise((res) => setTimeout(res, 100));
  return !alive(pid);
}

/** Starts the daemon, waits for its pid file, then runs `then`. */
function daemonScript(pidFile: string, then: string): string {
  return `${PYTHON3} ${DAEMON} ${pidFile}; while [ ! -s ${pidFile} ]; do sleep 0.05; done; ${then}`;
}

function sink() {
  const parts: string[] = [];
  return { write: (t: string) => parts.push(t), text: () => parts.join("") };
}

describe("run", () => {
  it("streams stdout and stderr to the log and reports the exit code", async () => {
    const log = sink();
    const r = await run({
      cmd: "sh",
      args: ["-c", "echo out; echo err >&2; exit 3"],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 10_000,
      log,
    });
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
    expect(log.text()).toContain("out\n");
    expect(log.text()).toContain("err\n");
  });

  it("captures stdout separately when asked", async () => {
    const log = sink();
    const r = await run({
      cmd: "sh",
      args: ["-c", "echo '{\"a\":1}'; echo note >&2"],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 10_000,
      log,
      captureStdout: true,
    });
    expect(JSON.parse(r.stdout)).toEqual({ a: 1 });
    expect(log.text()).toBe("note\n");
  });

  it("passes only the given environment", async () => {
    process.env.PYCI_TEST_SECRET = "s3cr3t-value";
    const log = sink();
    await run({ cmd: "env", args: [], cwd: scratch, env: sandboxEnv(scratch), timeoutMs: 10_000, log });
    delete process.env.PYCI_TEST_SECRET;
    expect(log.text()).not.toContain("s3cr3t-value");
    expect(log.text()).toContain(`HOME=${join(scratch, "home")}`);
  });

  it("kills the whole process tree on timeout, including children that ignore SIGTERM", async () => {
    const marker = join(scratch, "grandchild-alive");
    const script = `trap '' TERM; (trap '' TERM; sleep 3; touch ${marker}) & sleep 30`;
    const r = await run({ cmd: "sh", args: ["-c", script], cwd: scratch, env: sandboxEnv(scratch), timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    await new Promise((res) => setTimeout(res, 3_500));
    expect(existsSync(marker)).toBe(false);
  });

  it("kills a daemon that left the process group (double fork, setsid) and ignores SIGTERM, on timeout", async () => {
    const pidFile = join(scratch, "daemon-timeout.pid");
    const r = await run({
      cmd: "sh",
      args: ["-c", daemonScript(pidFile, "sleep 60")],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 5_000,
    });
    expect(r.timedOut).toBe(true);
    const pid = Number(readFileSync(pidFile, "utf8"));
    daemons.push(pid);
    expect(await gone(pid)).toBe(true);
  });

  it("kills a daemon left behind when the step itself exits", async () => {
    const pidFile = join(scratch, "daemon-exit.pid");
    const r = await run({
      cmd: "sh",
      args: ["-c", daemonScript(pidFile, "exit 0")],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 30_000,
    });
    expect(r.exitCode).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    daemons.push(pid);
    expect(await gone(pid)).toBe(true);
  });

  it("a trusted command's end kills its process group only (git's kept SSH connection lives on), its timeout still everything", async () => {
    const pidFile = join(scratch, "daemon-trusted.pid");
    const r = await run({
      cmd: "sh",
      args: ["-c", daemonScript(pidFile, "exit 0")],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 30_000,
      trusted: true,
    });
    expect(r.exitCode).toBe(0);
    const pid = Number(readFileSync(pidFile, "utf8"));
    daemons.push(pid);
    await new Promise((res) => setTimeout(res, 300));
    expect(alive(pid)).toBe(true);
    process.kill(pid, "SIGKILL");

    const timeoutPidFile = join(scratch, "daemon-trusted-timeout.pid");
    const t = await run({
      cmd: "sh",
      args: ["-c", daemonScript(timeoutPidFile, "sleep 60")],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 5_000,
      trusted: true,
    });
    expect(t.timedOut).toBe(true);
    const timeoutPid = Number(readFileSync(timeoutPidFile, "utf8"));
    daemons.push(timeoutPid);
    expect(await gone(timeoutPid)).toBe(true);
  });

  it("stops a process whose captured output passes the cap, keeping memory bounded", async () => {
    const log = sink();
    const r = await run({
      cmd: "yes",
      args: ["pyci"],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 30_000,
      log,
      captureStdout: true,
      maxCaptureBytes: 1024 * 1024,
    });
    expect(r.outputCapExceeded).toBe(true);
    expect(r.timedOut).toBe(false);
    expect(r.stdout.length).toBeLessThanOrEqual(1024 * 1024);
    expect(r.stdout.startsWith("pyci\npyci\n")).toBe(true);
    expect(log.text()).toMatch(/yes printed more than 1048576 bytes of output to be read; stopped it/);
  });

  it("reports a missing program as a spawn error, not an exception", async () => {
    const r = await run({
      cmd: "definitely-not-a-program-pyci",
      args: [],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 5_000,
    });
    expect(r.spawnError).toMatch(/ENOENT|not found/i);
    expect(r.exitCode).toBeNull();
  });

  it("stops when cancelled", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await run({
      cmd: "sleep",
      args: ["30"],
      cwd: scratch,
      env: sandboxEnv(scratch),
      timeoutMs: 60_000,
      signal: ac.signal,
    });
    expect(r.cancelled).toBe(true);
  });
});
