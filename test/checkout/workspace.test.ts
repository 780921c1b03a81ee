import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  checkout,
  CheckoutError,
  checkoutExisting,
  createWorkspace,
  existingWorkspace,
  gitEnv,
  redactUrl,
  sweepWorkspaces,
} from "../../src/checkout/workspace.js";
import { processStartTime } from "../../src/process/process-start-time.js";
import { makeRepo } from "../support/git-repo.js";

const workRoot = mkdtempSync(join(tmpdir(), "pyci-work-"));
afterAll(() => rmSync(workRoot, { recursive: true, force: true }));

function sink() {
  const parts: string[] = [];
  return { write: (t: string) => void parts.push(t), text: () => parts.join("") };
}

describe("checkout", () => {
  it("checks out the exact commit, not the branch tip", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const first = repo.sha;
    repo.commit({ "a.py": "x = 2\n" });
    const ws = await createWorkspace(workRoot);
    await checkout(ws, {
      source: { protocol: "local", url: repo.dir },
      sha: first,
      log: sink(),
      timeoutMs: 30_000,
    });
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await ws.remove();
    expect(existsSync(ws.dir)).toBe(false);
    repo.remove();
  });

  it("checks out a fork commit that the base repository holds only under refs/pull/<n>/head", async () => {
    const base = makeRepo({ "a.py": "x = 1\n" });
    const fork = makeRepo({ "a.py": "x = 'fork'\n" });
    // the base repository holds the fork's commit only under refs/pull/7/head, as GitHub does
    base.git("fetch", "-q", fork.dir, "+main:refs/pull/7/head");
    base.git("config", "uploadpack.allowReachableSHA1InWant", "false");
    base.git("config", "uploadpack.allowAnySHA1InWant", "false");
    const log = sink();
    const ws = await createWorkspace(workRoot);
    await checkout(ws, {
      source: { protocol: "local", url: `file://${base.dir}` },
      sha: fork.sha,
      prNumber: 7,
      log,
      timeoutMs: 30_000,
    });
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 'fork'\n");
    await ws.remove();
    base.remove();
    fork.remove();
  });

  it("fails clearly when the commit does not exist", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const ws = await createWorkspace(workRoot);
    await expect(
      checkout(ws, {
        source: { protocol: "local", url: repo.dir },
        sha: "0123456789abcdef0123456789abcdef01234567",
        log: sink(),
        timeoutMs: 30_000,
      }),
    ).rejects.toThrow(CheckoutError);
    await ws.remove();
    repo.remove();
  });
});

describe("checkoutExisting", () => {
  it("uses an existing checkout at the commit, or brings it there from its origin, and never removes it", async () => {
    const origin = makeRepo({ "a.py": "x = 1\n" });
    const first = origin.sha;
    const second = origin.commit({ "a.py": "x = 2\n" });
    const clone = makeRepo({ placeholder: "" });
    clone.git("remote", "add", "origin", origin.dir);
    clone.git("fetch", "-q", "origin", first);
    clone.git("checkout", "-q", "--detach", first);
    const ws = await existingWorkspace(workRoot, clone.dir);
    const log = sink();
    await checkoutExisting(ws, {
      source: { protocol: "local", url: clone.dir },
      sha: first,
      log,
      timeoutMs: 30_000,
    });
    expect(log.text()).toContain(`Using the existing checkout of ${clone.dir} at ${first}`);
    await checkoutExisting(ws, {
      source: { protocol: "local", url: clone.dir },
      sha: second,
      log,
      timeoutMs: 30_000,
    });
    expect(readFileSync(join(clone.dir, "a.py"), "utf8")).toBe("x = 2\n");
    await ws.remove();
    expect(existsSync(join(clone.dir, "a.py"))).toBe(true);
    expect(existsSync(ws.scratchDir)).toBe(false);
    origin.remove();
    clone.remove();
  });
});

describe("gitEnv", () => {
  it("puts the token in git's config environment, never in the URL", () => {
    const env = gitEnv("/tmp/x", { protocol: "https", url: "https://github.com/o/r.git", token: "ghs_secret123" });
    expect(env.GIT_CONFIG_KEY_0).toBe("http.extraHeader");
    expect(Buffer.from(env.GIT_CONFIG_VALUE_0!.replace("Authorization: Basic ", ""), "base64").toString()).toBe(
      "x-access-token:ghs_secret123",
    );
    expect(JSON.stringify(env)).not.toContain("ghs_secret123");
  });

  it("verifies host keys against the given known_hosts for ssh", () => {
    const env = gitEnv("/tmp/x", {
      protocol: "ssh",
      url: "git@github.com:o/r.git",
      sshKeyPath: "/k/id ed",
      knownHostsPath: "/k/known",
    });
    expect(env.GIT_SSH_COMMAND).toContain("StrictHostKeyChecking=yes");
    expect(env.GIT_SSH_COMMAND).toContain("UserKnownHostsFile='/k/known'");
    expect(env.GIT_SSH_COMMAND).toContain("-i '/k/id ed'");
  });

  it("redacts credentials in URLs", () => {
    expect(redactUrl("https://x-access-token:abc@github.com/o/r.git")).toBe("https://***@github.com/o/r.git");
    expect(redactUrl("ssh://git@host:22/o/r.git")).toBe("ssh://git@host:22/o/r.git");
  });
});

describe("sweepWorkspaces", () => {
  it("removes the workspaces of pyci processes that ended, never a live one's, nor anything else", async () => {
    const root = mkdtempSync(join(tmpdir(), "pyci-sweep-"));
    const owned = (name: string, owner: string) => {
      mkdirSync(join(root, name, "src"), { recursive: true });
      writeFileSync(join(root, name, "owner"), owner);
    };
    const dead = spawnSync("true").pid!;
    const start = processStartTime(process.pid)!;
    expect(start).toMatch(/^\d+$/);
    owned("pyci-build-dead", `${dead} 123\n`);
    owned("pyci-build-reused", `${process.pid} ${Number(start) + 1}\n`);
    owned("pyci-build-live", `${process.pid} ${start}\n`);
    mkdirSync(join(root, "pyci-build-unowned", "src"), { recursive: true });
    mkdirSync(join(root, "someone-else"));
    const mine = await createWorkspace(root);
    expect(await sweepWorkspaces(root)).toBe(3);
    expect(
      readdirSync(root)
        .filter((name) => !mine.dir.startsWith(join(root, name)))
        .sort(),
    ).toEqual(["pyci-build-live", "someone-else"]);
    expect(existsSync(mine.dir)).toBe(true);
    await mine.remove();
    rmSync(root, { recursive: true, force: true });
  });
});
