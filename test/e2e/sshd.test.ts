import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { startSshd, type TestSshd } from "../support/sshd.js";

const exec = promisify(execFile);

function gitSshEnv(keyPath: string, knownHostsPath: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_SSH_COMMAND: `ssh -i ${keyPath} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${knownHostsPath} -F /dev/null`,
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
  };
}

describe("startSshd", () => {
  let sshd: TestSshd;
  let repo: TestRepo;
  const scratch = mkdtempSync(join(tmpdir(), "pyci-sshd-test-"));

  beforeAll(async () => {
    sshd = await startSshd();
    repo = makeRepo({ "hello.py": "print('hello')\n" });
  });

  afterAll(async () => {
    await sshd?.stop();
    repo?.remove();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("serves git clone over ssh:// with a pinned host key", async () => {
    const url = sshd.sshUrl(repo.dir);
    expect(url).toMatch(new RegExp(`^ssh://[^@]+@127\\.0\\.0\\.1:${sshd.port}/`));
    const dest = join(scratch, "clone-ok");
    await exec("git", ["clone", "-q", url, dest], { env: gitSshEnv(sshd.clientKeyPath, sshd.knownHostsPath) });
    const { stdout } = await exec("git", ["rev-parse", "HEAD"], { cwd: dest });
    expect(stdout.trim()).toBe(repo.sha);
  });

  it("fails host key verification against a known_hosts with another key", async () => {
    const otherKey = join(scratch, "other_host_key");
    await exec("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", otherKey]);
    const { stdout: pub } = await exec("ssh-keygen", ["-y", "-f", otherKey]);
    const wrongKnownHosts = join(scratch, "wrong_known_hosts");
    writeFileSync(wrongKnownHosts, `[127.0.0.1]:${sshd.port} ${pub.trim()}\n`);

    const dest = join(scratch, "clone-wrong-host");
    const clone = exec("git", ["clone", "-q", sshd.sshUrl(repo.dir), dest], {
      env: gitSshEnv(sshd.clientKeyPath, wrongKnownHosts),
    });
    await expect(clone).rejects.toThrow(/host key verification failed/i);
  });

  it("refuses a client key it does not know", async () => {
    const strangerKey = join(scratch, "stranger_key");
    await exec("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", strangerKey]);
    const dest = join(scratch, "clone-stranger");
    const clone = exec("git", ["clone", "-q", sshd.sshUrl(repo.dir), dest], {
      env: gitSshEnv(strangerKey, sshd.knownHostsPath),
    });
    await expect(clone).rejects.toThrow(/permission denied/i);
  });
});
