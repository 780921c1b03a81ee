import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../src/pipeline/exec.js";
import { sandboxEnv } from "../../src/pipeline/sandbox-env.js";

const scratch = mkdtempSync(join(tmpdir(), "pyci-exec-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function sink() {
  const parts: string[] = [];
  return { write: (t: string) => parts.push(t), text: () => parts.join("") };
}

describe("run", () => {
  it("streams stdout and stderr to the log and reports the exit code", async () => {
    const log = sink();
    const r = await run({ cmd: "sh", args: ["-c", "echo out; echo err >&2; exit 3"], cwd: scratch, env: sandboxEnv(scratch), timeoutMs: 10_000, log });
    expect(r.exitCode).toBe(3);
    expect(r.timedOut).toBe(false);
    expect(log.text()).toContain("out\n");
    expect(log.text()).toContain("err\n");
  });

  it("captures stdout separately when asked", async () => {
    const log = sink();
    const r = await run({ cmd: "sh", args: ["-c", "echo '{\"a\":1}'; echo note >&2"], cwd: scratch, env: sandboxEnv(scratch), timeoutMs: 10_000, log, captureStdout: true });
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
    const { existsSync } = await import("node:fs");
    expect(existsSync(marker)).toBe(false);
  });

  it("reports a missing program as a spawn error, not an exception", async () => {
    const r = await run({ cmd: "definitely-not-a-program-pyci", args: [], cwd: scratch, env: sandboxEnv(scratch), timeoutMs: 5_000 });
    expect(r.spawnError).toMatch(/ENOENT|not found/i);
    expect(r.exitCode).toBeNull();
  });

  it("stops when cancelled", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 200);
    const r = await run({ cmd: "sleep", args: ["30"], cwd: scratch, env: sandboxEnv(scratch), timeoutMs: 60_000, signal: ac.signal });
    expect(r.cancelled).toBe(true);
  });
});
