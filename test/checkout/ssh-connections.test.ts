import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeSshConnections, ensureSshControlDir, sshControlDir } from "../../src/checkout/ssh-connections.js";
import { checkout, createWorkspace, type CloneSource } from "../../src/checkout/workspace.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

let sshd: TestSshd;
let repo: TestRepo;
const root = mkdtempSync(join(tmpdir(), "pyci-mux-"));

beforeAll(async () => {
  sshd = await startSshd();
  repo = makeRepo({ "a.py": "x = 1\n" }, { dir: join(root, "repo") });
});
afterAll(async () => {
  await sshd.stop();
  rmSync(root, { recursive: true, force: true });
});

const logins = () => (sshd.log().match(/Accepted publickey for/g) ?? []).length;
const sink = { write() {} };

/** Processes whose command line names the control directory: the kept connections' ssh. */
function masters(dir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return (
          readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(dir) &&
          readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("[mux]")
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function checkoutOnce(source: CloneSource, sha: string): Promise<void> {
  const workRoot = join(root, "work");
  const ws = await createWorkspace(workRoot);
  try {
    await checkout(ws, { source, sha, log: sink, timeoutMs: 30_000 });
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toContain("x =");
  } finally {
    await ws.remove();
  }
}

describe("shared SSH connections", () => {
  it("makes one connection for many fetches; the connection outlives them outside their run and their directory, and closes on request", async () => {
    const data = mkdtempSync(join(root, "d-"));
    const dir = sshControlDir(data)!;
    expect(await ensureSshControlDir(dir)).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const source: CloneSource = {
      protocol: "ssh",
      url: sshd.sshUrl(repo.dir),
      sshKeyPath: sshd.clientKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      controlDir: dir,
    };
    const before = logins();
    await checkoutOnce(source, repo.sha);
    const second = repo.commit({ "a.py": "x = 2\n" });
    await checkoutOnce(source, second);
    await checkoutOnce(source, second);
    expect(logins() - before).toBe(1);

    const [master, ...others] = masters(dir);
    expect(master).toBeDefined();
    expect(others).toEqual([]);
    // not killed with the fetch's run (no marker), not holding on to a checkout
    expect(readFileSync(`/proc/${master}/environ`, "utf8")).not.toContain("PYCI_RUN=");
    expect(readlinkSync(`/proc/${master}/cwd`)).toBe("/");
    expect(readdirSync(dir).length).toBe(1);

    expect(await closeSshConnections(dir)).toBe(1);
    await until(() => masters(dir).length === 0);
    expect(readdirSync(dir)).toEqual([]);
    // and the next fetch connects anew
    await checkoutOnce(source, second);
    expect(logins() - before).toBe(2);
    await closeSshConnections(dir);
  });

  it("connects for each fetch without a control directory", async () => {
    const source: CloneSource = {
      protocol: "ssh",
      url: sshd.sshUrl(repo.dir),
      sshKeyPath: sshd.clientKeyPath,
      knownHostsPath: sshd.knownHostsPath,
    };
    const before = logins();
    await checkoutOnce(source, repo.sha);
    await checkoutOnce(source, repo.sha);
    expect(logins() - before).toBe(2);
  });

  it("a stale socket (its connection gone) is replaced, and a data dir too deep for a socket path shares nothing", async () => {
    const data = mkdtempSync(join(root, "s-"));
    const dir = sshControlDir(data)!;
    await ensureSshControlDir(dir);
    const source: CloneSource = {
      protocol: "ssh",
      url: sshd.sshUrl(repo.dir),
      sshKeyPath: sshd.clientKeyPath,
      knownHostsPath: sshd.knownHostsPath,
      controlDir: dir,
    };
    await checkoutOnce(source, repo.sha);
    for (const pid of masters(dir)) process.kill(pid, "SIGKILL");
    await until(() => masters(dir).length === 0);
    expect(readdirSync(dir).length).toBe(1); // a killed master leaves its socket
    const before = logins();
    await checkoutOnce(source, repo.sha);
    expect(logins() - before).toBe(1);
    expect(masters(dir).length).toBe(1);
    await closeSshConnections(dir);

    expect(sshControlDir(join("/tmp", "x".repeat(60)))).toBeUndefined();
    // a directory ssh could not make its socket in is not used (every fetch would fail)
    writeFileSync(join(data, "not-a-dir"), "");
    expect(await ensureSshControlDir(join(data, "not-a-dir", "ssh"))).toBe(false);
    expect(sshControlDir("/var/lib/pyci")).toBe("/var/lib/pyci/ssh");
    expect(existsSync(join(data, "ssh"))).toBe(true);
  });
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 25));
  }
}
