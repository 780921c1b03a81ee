import { execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { run } from "../../src/process/exec.js";
import { spawnHelper, stopSpawnHelper } from "../../src/process/spawn-helper.js";
import { startChild } from "../../src/process/start-child.js";

const ENV = { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C.UTF-8" };
const PYTHON3 = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const sh = (script: string, timeoutMs = 30_000) =>
  run({ cmd: "sh", args: ["-c", script], cwd: "/", env: ENV, timeoutMs, captureStdout: true });

function commandLine(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ");
}

function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

async function until(what: string, condition: () => boolean, ms = 10_000): Promise<void> {
  for (const end = Date.now() + ms; !condition(); ) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("the spawn helper", () => {
  it("starts the children (their parent is python/pyci_spawner.py, not this process) with exactly the environment given", async () => {
    const helper = await spawnHelper();
    expect(helper).toBeDefined();
    const r = await sh('echo "$PPID"; env | sort');
    expect(r.exitCode).toBe(0);
    const [ppid, ...env] = r.stdout.trim().split("\n");
    expect(Number(ppid)).not.toBe(process.pid);
    expect(commandLine(Number(ppid))).toContain("pyci_spawner.py");
    // sh adds PWD, SHLVL and _ of its own; nothing of this process's environment comes along
    const names = env
      .map((line) => line.split("=")[0])
      .filter((name) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(name!));
    expect(names.sort()).toEqual(["LANG", "PATH", "PYCI_RUN"]);
  });

  it("passes output through whole and in order: 8 MB, UTF-8 split anywhere, 40 children at once", async () => {
    const big = await run({
      cmd: PYTHON3,
      // 8 MiB of numbered lines with a 3-byte character in each, written in odd-sized pieces
      args: [
        "-c",
        "import sys\nout = ''.join(f'{i:07d} €\\n' for i in range(800_000)).encode()\nfor at in range(0, len(out), 4099): sys.stdout.buffer.write(out[at:at + 4099]); sys.stdout.flush()",
      ],
      cwd: "/",
      env: ENV,
      timeoutMs: 60_000,
      captureStdout: true,
    });
    expect(big.exitCode).toBe(0);
    const lines = big.stdout.split("\n");
    expect(lines).toHaveLength(800_001);
    expect(lines[123_456]).toBe("0123456 €");
    expect(lines.every((line, i) => i === 800_000 || line === `${String(i).padStart(7, "0")} €`)).toBe(true);

    const many = await Promise.all(
      Array.from({ length: 40 }, (_, k) =>
        sh(`for i in 1 2 3; do echo ${k}-$i; echo err-${k} >&2; done; exit ${k % 7}`),
      ),
    );
    many.forEach((r, k) => {
      expect(r.stdout).toBe(`${k}-1\n${k}-2\n${k}-3\n`);
      expect(r.exitCode).toBe(k % 7);
    });
  });

  it("tells exit codes, signals and commands that cannot start", async () => {
    expect((await sh("exit 3")).exitCode).toBe(3);
    const killed = await sh("kill -9 $$");
    expect(killed).toMatchObject({ exitCode: null, signal: "SIGKILL" });
    const missing = await run({ cmd: "no-such-command-pyci", args: [], cwd: "/", env: ENV, timeoutMs: 10_000 });
    expect(missing.spawnError).toBe("spawn no-such-command-pyci ENOENT");
    const noDir = await run({ cmd: "true", args: [], cwd: "/no/such/dir", env: ENV, timeoutMs: 10_000 });
    expect(noDir.spawnError).toMatch(/ENOENT/);
    const nul = await run({ cmd: "echo", args: ["a\u0000b"], cwd: "/", env: ENV, timeoutMs: 10_000 });
    expect(nul.spawnError).toMatch(/EINVAL/);
    // and the helper still serves
    expect((await sh("echo fine")).stdout).toBe("fine\n");
  });

  it("dies with the server: a child still running is killed when the process that asked for it exits", async () => {
    // the built module (npm test builds first), in a node of its own
    const script = fileURLToPath(new URL("../../dist/process/start-child.js", import.meta.url));
    const driver = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const { startChild } = await import(${JSON.stringify(script)}); const c = await startChild({ cmd: "sleep", args: ["300"], cwd: "/", env: { PATH: process.env.PATH } }, { started() {}, stdout() {}, stderr() {}, exit() {} }); console.log(c.pid); process.exit(0);`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    const pid = Number(
      await new Promise<string>((resolve) => driver.stdout!.setEncoding("utf8").once("data", resolve)),
    );
    expect(pid).toBeGreaterThan(0);
    await until("the sleep is gone", () => !alive(pid));
  });

  it("when the helper itself dies, the runs waiting on it end and their processes are killed; the next run gets a new helper", async () => {
    const helper = (await spawnHelper())!;
    const pids: number[] = [];
    const pending = run({
      cmd: "sh",
      args: ["-c", "sleep 300 & echo $!; echo $$; wait"],
      cwd: "/",
      env: ENV,
      timeoutMs: 60_000,
      log: { write: (text) => void pids.push(...text.trim().split("\n").map(Number)) },
    });
    await until("the child has started", () => pids.length === 2);
    const helperPid = Number(readFileSync(`/proc/${pids[1]}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    expect(commandLine(helperPid)).toContain("pyci_spawner.py");
    process.kill(helperPid, "SIGKILL");
    const r = await pending;
    expect(r.spawnError).toMatch(/spawn helper/);
    await until("the run's processes are gone", () => pids.every((pid) => !alive(pid)));
    const next = await sh('echo "$PPID"');
    expect(Number(next.stdout.trim())).not.toBe(helperPid);
    expect(commandLine(Number(next.stdout.trim()))).toContain("pyci_spawner.py");
    expect(await spawnHelper()).not.toBe(helper);
  });

  it("is not used with PYCI_SPAWN_HELPER=0: this process starts the children", async () => {
    process.env.PYCI_SPAWN_HELPER = "0";
    try {
      const child = await startChild(
        { cmd: "sh", args: ["-c", 'echo "$PPID"'], cwd: "/", env: ENV },
        { started() {}, stdout: (t) => void out.push(t), stderr() {}, exit() {} },
      );
      const out: string[] = [];
      await child.done;
      expect(Number(out.join("").trim())).toBe(process.pid);
    } finally {
      delete process.env.PYCI_SPAWN_HELPER;
    }
  });

  it("stopSpawnHelper: the helper has exited when it resolves (the server leaves no process behind); the next run gets a new one", async () => {
    await spawnHelper();
    const helperPid = Number((await sh('echo "$PPID"')).stdout.trim());
    expect(commandLine(helperPid)).toContain("pyci_spawner.py");
    await stopSpawnHelper();
    expect(alive(helperPid)).toBe(false);
    const next = await sh('echo "$PPID"');
    expect(Number(next.stdout.trim())).not.toBe(helperPid);
    expect(commandLine(Number(next.stdout.trim()))).toContain("pyci_spawner.py");
  });
});
