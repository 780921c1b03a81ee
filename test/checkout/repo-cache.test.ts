import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GIT_CACHE, liveReaders, mirrorName } from "../../src/checkout/mirror-files.js";
import { checkout, CheckoutError, createWorkspace, type CloneSource } from "../../src/checkout/workspace.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { startSshd, type TestSshd } from "../support/sshd.js";
import { evictCaches } from "../../src/pipeline/evict-caches.js";

const root = mkdtempSync(join(tmpdir(), "pyci-repo-cache-"));
const workRoot = join(root, "work");
mkdirSync(workRoot);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function sink() {
  const parts: string[] = [];
  return { write: (t: string) => void parts.push(t), text: () => parts.join("") };
}

function dataDir(): string {
  return mkdtempSync(join(root, "data-"));
}

/** A checkout through the cache in `data`; the workspace is left for the caller to remove. */
async function cachedCheckout(
  data: string,
  source: CloneSource,
  sha: string,
  extra: { prNumber?: number; maxBytes?: number } = {},
) {
  const ws = await createWorkspace(workRoot);
  const log = sink();
  await checkout(ws, {
    source,
    sha,
    log,
    timeoutMs: 60_000,
    cache: { dir: data, maxBytes: extra.maxBytes ?? 1024 ** 3 },
    ...(extra.prNumber !== undefined ? { prNumber: extra.prNumber } : {}),
  });
  return { ws, log };
}

function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" },
  }).trim();
}

function onlyMirror(data: string): string {
  const mirrors = readdirSync(join(data, GIT_CACHE)).filter((name) => name.endsWith(".git"));
  expect(mirrors).toHaveLength(1);
  return join(data, GIT_CACHE, mirrors[0]!);
}

function objectCount(repoDir: string): { loose: number; inPack: number; packs: number } {
  const fields = Object.fromEntries(
    git(repoDir, "count-objects", "-v")
      .split("\n")
      .map((line) => line.split(": ") as [string, string]),
  );
  return { loose: Number(fields.count), inPack: Number(fields["in-pack"]), packs: Number(fields.packs) };
}

/** A repository of 200 files over 5 commits; returns the repository and its commits, oldest first. */
function bigRepo(): { repo: TestRepo; shas: string[] } {
  const files: Record<string, string> = {};
  for (let i = 0; i < 200; i++)
    files[`pkg${i % 10}/mod${i}.py`] = `# module ${i}\n${"x = 1\n".repeat(50)}def f${i}() -> int:\n    return ${i}\n`;
  const repo = makeRepo(files);
  const shas = [repo.sha];
  for (let c = 1; c < 5; c++)
    shas.push(
      repo.commit(
        { [`pkg0/mod${c}.py`]: `def f() -> int:\n    return ${c}\n`, [`extra${c}.py`]: `v = ${c}\n` },
        `commit ${c}`,
      ),
    );
  return { repo, shas };
}

describe("checkout through the git cache", () => {
  let big: { repo: TestRepo; shas: string[] };
  beforeAll(() => {
    big = bigRepo();
  });
  afterAll(() => big.repo.remove());

  it("fetches a second commit incrementally and a rebuilt one not at all; the checkout borrows the mirror's objects", async () => {
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: big.repo.dir };
    const [first, second] = [big.shas[3]!, big.shas[4]!];

    const plainWs = await createWorkspace(workRoot);
    let started = performance.now();
    await checkout(plainWs, { source, sha: first, log: sink(), timeoutMs: 60_000 });
    const plainMs = performance.now() - started;
    await plainWs.remove();

    started = performance.now();
    const cold = await cachedCheckout(data, source, first);
    const coldMs = performance.now() - started;
    const mirror = onlyMirror(data);
    const afterCold = objectCount(mirror);
    expect(afterCold.inPack).toBeGreaterThan(200);

    started = performance.now();
    const warm = await cachedCheckout(data, source, second);
    const warmMs = performance.now() - started;
    const afterWarm = objectCount(mirror);

    started = performance.now();
    const again = await cachedCheckout(data, source, second);
    const againMs = performance.now() - started;
    console.log(
      `checkout of a 200-file repository: plain ${plainMs.toFixed(0)} ms; cached: cold ${coldMs.toFixed(0)} ms, next commit ${warmMs.toFixed(0)} ms, same commit again ${againMs.toFixed(0)} ms`,
    );

    // the next commit brought only what changed: its commit, trees and two blobs
    expect(afterWarm.inPack - afterCold.inPack).toBeGreaterThan(0);
    expect(afterWarm.inPack - afterCold.inPack).toBeLessThan(10);
    // the same commit again: no fetch at all
    expect(again.log.text()).toContain(`Commit ${second.slice(0, 7)} is already in the git cache`);
    expect(again.log.text()).not.toContain("$ git fetch");
    expect(objectCount(mirror)).toEqual(afterWarm);

    // the checkouts hold no objects of their own, and are right
    for (const { ws } of [cold, warm, again]) {
      expect(objectCount(ws.dir)).toMatchObject({ loose: 0, inPack: 0, packs: 0 });
      expect(readFileSync(join(ws.dir, ".git", "objects", "info", "alternates"), "utf8")).toBe(
        `${join(mirror, "objects")}\n`,
      );
    }
    expect(git(cold.ws.dir, "rev-parse", "HEAD")).toBe(first);
    expect(git(warm.ws.dir, "rev-parse", "HEAD")).toBe(second);
    expect(readFileSync(join(warm.ws.dir, "extra4.py"), "utf8")).toBe("v = 4\n");
    expect(existsSync(join(cold.ws.dir, "extra4.py"))).toBe(false);
    expect(git(warm.ws.dir, "status", "--porcelain")).toBe("");
    expect(warm.ws.tree).toBe(git(big.repo.dir, "rev-parse", `${second}^{tree}`));
    // git works in the checkout as in a shallow clone, with the repository as its origin
    expect(git(warm.ws.dir, "log", "--format=%s")).toBe("commit 4");
    expect(git(warm.ws.dir, "config", "remote.origin.url")).toBe(big.repo.dir);
    // the mirror never collects garbage behind a checkout's back
    expect(git(mirror, "config", "gc.auto")).toBe("0");
    // nor starts `git maintenance` after each fetch
    expect(git(mirror, "config", "maintenance.auto")).toBe("false");
    await Promise.all([cold, warm, again].map(({ ws }) => ws.remove()));
  });

  it("knows a commit it fetched by its ref, loose or packed; one whose ref is gone is fetched again", async () => {
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: big.repo.dir };
    const [first, second] = [big.shas[1]!, big.shas[2]!];
    await (await cachedCheckout(data, source, first)).ws.remove();
    await (await cachedCheckout(data, source, second)).ws.remove();
    const mirror = onlyMirror(data);
    git(mirror, "pack-refs", "--all");
    expect(existsSync(join(mirror, "refs", "pyci", first))).toBe(false);
    const packed = await cachedCheckout(data, source, first);
    expect(packed.log.text()).toContain(`Commit ${first.slice(0, 7)} is already in the git cache`);
    expect(packed.log.text()).not.toContain("$ git fetch");
    // the objects are there, the ref is not: asked for again (a fetch that brings nothing new)
    git(mirror, "update-ref", "-d", `refs/pyci/${second}`);
    const refless = await cachedCheckout(data, source, second);
    expect(refless.log.text()).toContain("$ git fetch");
    expect(git(refless.ws.dir, "rev-parse", "HEAD")).toBe(second);
    expect(git(mirror, "rev-parse", `refs/pyci/${second}`)).toBe(second);
    await Promise.all([packed, refless].map(({ ws }) => ws.remove()));
  });

  it("checks out 4 different commits of one repository at once, each right", async () => {
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: big.repo.dir };
    const shas = big.shas.slice(1, 5);
    const done = await Promise.all(shas.map((sha) => cachedCheckout(data, source, sha)));
    for (const [i, { ws }] of done.entries()) {
      expect(git(ws.dir, "rev-parse", "HEAD")).toBe(shas[i]);
      expect(git(ws.dir, "status", "--porcelain")).toBe("");
      expect(readFileSync(join(ws.dir, "pkg0", "mod1.py"), "utf8")).toBe("def f() -> int:\n    return 1\n");
      expect(existsSync(join(ws.dir, `extra${i + 1}.py`))).toBe(true);
      expect(existsSync(join(ws.dir, `extra${i + 2}.py`))).toBe(false);
    }
    // one mirror, fsck-clean, holding all four
    const mirror = onlyMirror(data);
    git(mirror, "fsck", "--no-progress");
    for (const sha of shas) git(mirror, "cat-file", "-e", `${sha}^{commit}`);
    await Promise.all(done.map(({ ws }) => ws.remove()));
  });

  it("checks out a fork commit that the base repository holds only under refs/pull/<n>/head", async () => {
    const base = makeRepo({ "a.py": "x = 1\n" });
    const fork = makeRepo({ "a.py": "x = 'fork'\n" });
    base.git("fetch", "-q", fork.dir, "+main:refs/pull/7/head");
    base.git("config", "uploadpack.allowReachableSHA1InWant", "false");
    base.git("config", "uploadpack.allowAnySHA1InWant", "false");
    const data = dataDir();
    const { ws, log } = await cachedCheckout(data, { protocol: "local", url: `file://${base.dir}` }, fork.sha, {
      prNumber: 7,
    });
    expect(log.text()).toContain("$ git fetch");
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 'fork'\n");
    await ws.remove();
    // the next build of that commit needs nothing from the repository
    const next = await cachedCheckout(data, { protocol: "local", url: `file://${base.dir}` }, fork.sha, {
      prNumber: 7,
    });
    expect(next.log.text()).toContain("is already in the git cache");
    await next.ws.remove();
    base.remove();
    fork.remove();
  });

  it("fails clearly when the commit does not exist, and leaves the cache as it was", async () => {
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: big.repo.dir };
    const ok = await cachedCheckout(data, source, big.shas[0]!);
    await ok.ws.remove();
    const mirror = onlyMirror(data);
    const before = objectCount(mirror);
    await expect(cachedCheckout(data, source, "0123456789abcdef0123456789abcdef01234567")).rejects.toThrow(
      new CheckoutError("Could not fetch 0123456 from the repository"),
    );
    expect(objectCount(mirror)).toEqual(before);
  });
});

describe("checkout through the git cache, odd paths", () => {
  it("writes a URL with quotes and backslashes into the checkout's config as git would", async () => {
    const dir = join(root, 'we"ird\\repo [x]');
    const repo = makeRepo({ "a.py": "x = 1\n" }, { dir });
    const { ws } = await cachedCheckout(dataDir(), { protocol: "local", url: dir }, repo.sha);
    expect(git(ws.dir, "config", "remote.origin.url")).toBe(dir);
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await ws.remove();
    repo.remove();
  });
});

describe("a damaged git cache heals", () => {
  it("clones afresh when git cannot use the mirror any more", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: repo.dir };
    const first = await cachedCheckout(data, source, repo.sha);
    await first.ws.remove();
    writeFileSync(join(onlyMirror(data), "config"), "[core\n\u0000garbage");
    const second = repo.commit({ "a.py": "x = 2\n" });
    const { ws, log } = await cachedCheckout(data, source, second);
    expect(log.text()).toContain("The fetch into the git cache failed: trying again with a fresh cache");
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 2\n");
    git(onlyMirror(data), "fsck", "--no-progress");
    await ws.remove();
    repo.remove();
  });

  it("still checks out the right files when the mirror lost its packs", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: repo.dir };
    const first = await cachedCheckout(data, source, repo.sha);
    await first.ws.remove();
    const mirror = onlyMirror(data);
    for (const name of readdirSync(join(mirror, "objects", "pack"))) rmSync(join(mirror, "objects", "pack", name));
    const again = await cachedCheckout(data, source, repo.sha);
    expect(readFileSync(join(again.ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    const second = repo.commit({ "a.py": "x = 2\n" });
    const next = await cachedCheckout(data, source, second);
    expect(readFileSync(join(next.ws.dir, "a.py"), "utf8")).toBe("x = 2\n");
    await Promise.all([again.ws.remove(), next.ws.remove()]);
    repo.remove();
  });

  it("clones afresh when the mirror has the commit and its tree but not its files", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: repo.dir };
    const first = await cachedCheckout(data, source, repo.sha);
    await first.ws.remove();
    // keep the commit, lose the rest (as a broken disk might)
    const mirror = onlyMirror(data);
    const tree = git(mirror, "rev-parse", `${repo.sha}^{tree}`);
    const commit = execFileSync("git", ["cat-file", "commit", repo.sha], { cwd: mirror });
    const treeObject = execFileSync("git", ["cat-file", "tree", tree], { cwd: mirror });
    for (const name of readdirSync(join(mirror, "objects", "pack"))) rmSync(join(mirror, "objects", "pack", name));
    execFileSync("git", ["hash-object", "-w", "-t", "commit", "--literally", "--stdin"], {
      cwd: mirror,
      input: commit,
    });
    execFileSync("git", ["hash-object", "-w", "-t", "tree", "--literally", "--stdin"], {
      cwd: mirror,
      input: treeObject,
    });
    const { ws, log } = await cachedCheckout(data, source, repo.sha);
    expect(log.text()).toContain("The checkout from the git cache failed: trying again with a fresh cache");
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await ws.remove();
    repo.remove();
  });

  it("takes over what a killed server left (its lock file, git's own lock files) without rebuilding", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: repo.dir };
    const first = await cachedCheckout(data, source, repo.sha);
    await first.ws.remove();
    const mirror = onlyMirror(data);
    const packsBefore = objectCount(mirror).inPack;
    // a fetch killed with SIGKILL: its lock files stay
    writeFileSync(`${mirror}.lock`, `${deadPid()} 7e1f4d52-0000-4000-8000-000000000000`);
    writeFileSync(join(mirror, "shallow.lock"), "");
    const second = repo.commit({ "a.py": "x = 2\n" });
    writeFileSync(join(mirror, "refs", `pyci-${second}.lock`), "");
    const { ws, log } = await cachedCheckout(data, source, second);
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 2\n");
    expect(log.text()).not.toContain("fresh cache");
    expect(log.text()).not.toContain("Waiting");
    expect(objectCount(mirror).inPack).toBeGreaterThan(packsBefore);
    expect(existsSync(join(mirror, "shallow.lock"))).toBe(false);
    await ws.remove();
    expect(existsSync(`${mirror}.lock`)).toBe(false);
    repo.remove();
  });
});

describe("the git cache's lock", () => {
  it("waits while another live process holds it, and goes on once that process is gone", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const source: CloneSource = { protocol: "local", url: repo.dir };
    const mirror = join(data, GIT_CACHE, mirrorName(repo.dir));
    mkdirSync(join(data, GIT_CACHE), { recursive: true });
    const holder = spawn("sleep", ["60"], { stdio: "ignore" });
    writeFileSync(`${mirror}.lock`, `${holder.pid} 11111111-0000-4000-8000-000000000000`);
    const ws = await createWorkspace(workRoot);
    const log = sink();
    const pending = checkout(ws, {
      source,
      sha: repo.sha,
      log,
      timeoutMs: 60_000,
      cache: { dir: data, maxBytes: 1024 ** 3 },
    });
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await until(() => log.text().includes("Waiting for another build to finish with the git cache of this repository"));
    expect(settled).toBe(false);
    expect(existsSync(join(ws.dir, "a.py"))).toBe(false);
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;
    await pending;
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await ws.remove();
    repo.remove();
  });

  it("takes over a lock whose holder stopped refreshing it, though its pid is alive", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const mirror = join(data, GIT_CACHE, mirrorName(repo.dir));
    mkdirSync(join(data, GIT_CACHE), { recursive: true });
    writeFileSync(`${mirror}.lock`, `${process.ppid} 22222222-0000-4000-8000-000000000000`);
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(`${mirror}.lock`, old, old);
    const { ws } = await cachedCheckout(data, { protocol: "local", url: repo.dir }, repo.sha);
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await ws.remove();
    repo.remove();
  });
});

describe("the git cache's size bound", () => {
  it("evicts the least recently used mirror when a build ends, never one a checkout borrows from", async () => {
    const a = makeRepo({ "a.py": "x = 'a'\n" });
    const b = makeRepo({ "b.py": "x = 'b'\n" });
    const data = dataDir();
    // a bound smaller than one mirror: everything not in use goes
    const inUse = await cachedCheckout(data, { protocol: "local", url: a.dir }, a.sha, { maxBytes: 1 });
    const other = await cachedCheckout(data, { protocol: "local", url: b.dir }, b.sha, { maxBytes: 1 });
    const mirrorA = join(data, GIT_CACHE, mirrorName(a.dir));
    const mirrorB = join(data, GIT_CACHE, mirrorName(b.dir));
    // a build ends: its checkout is removed, then the caches are bounded (as runBuild does)
    await other.ws.remove();
    await evictCaches({ dir: data, maxBytes: 1 });
    expect(existsSync(mirrorB)).toBe(false);
    expect(existsSync(mirrorA)).toBe(true);
    expect(git(inUse.ws.dir, "cat-file", "-p", "HEAD:a.py")).toBe("x = 'a'");
    await inUse.ws.remove();
    await evictCaches({ dir: data, maxBytes: 1 });
    expect(existsSync(mirrorA)).toBe(false);
    a.remove();
    b.remove();
  });

  it("keeps mirrors within a bound that holds them", async () => {
    const a = makeRepo({ "a.py": "x = 'a'\n" });
    const data = dataDir();
    const { ws } = await cachedCheckout(data, { protocol: "local", url: a.dir }, a.sha, { maxBytes: 1024 ** 3 });
    await ws.remove();
    await evictCaches({ dir: data, maxBytes: 1024 ** 3 });
    expect(existsSync(join(data, GIT_CACHE, mirrorName(a.dir)))).toBe(true);
    a.remove();
  });
});

describe("mirror names", () => {
  it("stay inside git-cache/ whatever the URL, and never collide", () => {
    const urls = [
      "git@github.com:acme/widgets.git",
      "https://github.com/acme/widgets.git",
      "ssh://git@host:2222/../../etc/passwd",
      "../../../../tmp/x",
      "https://user:secret@example.com/a/b.git",
      "/",
      "",
    ];
    const names = urls.map(mirrorName);
    for (const name of names) {
      expect(name).toMatch(/^[A-Za-z0-9][A-Za-z0-9._-]*-[0-9a-f]{16}\.git$/);
      expect(name).not.toContain("/");
      expect(name).not.toContain("secret");
    }
    expect(new Set(names).size).toBe(urls.length);
    expect(names[0]).toBe(`github.com_acme_widgets-${names[0]!.slice(-20, -4)}.git`);
  });
});

describe("a mirror's readers", () => {
  it("are live while their process runs and their checkout exists; a record with pid 0 or a negative pid is not", async () => {
    const mirror = mkdtempSync(join(root, "mirror-"));
    const checkoutDir = mkdtempSync(join(root, "checkout-"));
    mkdirSync(join(mirror, "pyci-readers"));
    const record = (name: string, pid: number) =>
      writeFileSync(join(mirror, "pyci-readers", `${name}.json`), JSON.stringify({ pid, checkout: checkoutDir }));
    record("ours", process.pid);
    expect(await liveReaders(mirror)).toEqual([checkoutDir]);
    // process.kill(0, 0) and process.kill(-1, 0) signal a process group or every process: they always succeed
    record("ours", 0);
    record("all", -1);
    expect(await liveReaders(mirror)).toEqual([]);
    expect(readdirSync(join(mirror, "pyci-readers"))).toEqual([]);
  });
});

describe("credentials and the git cache", () => {
  it("never writes the token into the mirror or the log", async () => {
    const token = "ghs_cachetoken0123456789";
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const { ws, log } = await cachedCheckout(data, { protocol: "https", url: `file://${repo.dir}`, token }, repo.sha);
    const basic = Buffer.from(`x-access-token:${token}`).toString("base64");
    const grep = spawnSync("grep", ["-r", "-l", "-e", token, "-e", basic, data, ws.dir], { encoding: "utf8" });
    expect(grep.stdout).toBe("");
    expect(grep.status).toBe(1); // no match (2 would be an error)
    expect(log.text()).not.toContain(token);
    expect(readFileSync(join(onlyMirror(data), "config"), "utf8")).not.toContain("extraHeader");
    await ws.remove();
    repo.remove();
  }, 60_000);
});

describe("free disk", () => {
  it("refuses to clone with less free disk than CI_MIN_FREE_DISK, saying how much there is", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const ws = await createWorkspace(workRoot);
    const attempt = checkout(ws, {
      source: { protocol: "local", url: repo.dir },
      sha: repo.sha,
      log: sink(),
      timeoutMs: 30_000,
      minFreeDiskBytes: 2 ** 60,
    });
    await expect(attempt).rejects.toThrow(CheckoutError);
    await expect(attempt).rejects.toThrow(
      /^Not enough free disk in CI_WORK_DIR: \d+ MiB free, CI_MIN_FREE_DISK is 1099511627776 MiB$/,
    );
    expect(existsSync(join(ws.dir, ".git"))).toBe(false);
    // a minimum the disk has: the clone goes on
    await checkout(ws, {
      source: { protocol: "local", url: repo.dir },
      sha: repo.sha,
      log: sink(),
      timeoutMs: 30_000,
      minFreeDiskBytes: 1024 * 1024,
    });
    expect(readFileSync(join(ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await ws.remove();
    repo.remove();
  });
});

describe("the git cache over SSH", () => {
  let sshd: TestSshd;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(() => sshd?.stop());

  it("fetches through a real sshd once, then builds the same commit without connecting", async () => {
    const repo = makeRepo({ "a.py": "x = 1\n" });
    const data = dataDir();
    const source: CloneSource = {
      protocol: "ssh",
      url: sshd.sshUrl(repo.dir),
      sshKeyPath: sshd.clientKeyPath,
      knownHostsPath: sshd.knownHostsPath,
    };
    const logins = () =>
      sshd
        .log()
        .split("\n")
        .filter((line) => line.includes("Accepted publickey")).length;
    const first = await cachedCheckout(data, source, repo.sha);
    expect(readFileSync(join(first.ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    await until(() => logins() >= 1);
    const afterFirst = logins();
    const again = await cachedCheckout(data, source, repo.sha);
    expect(readFileSync(join(again.ws.dir, "a.py"), "utf8")).toBe("x = 1\n");
    const second = repo.commit({ "a.py": "x = 2\n" });
    const next = await cachedCheckout(data, source, second);
    expect(readFileSync(join(next.ws.dir, "a.py"), "utf8")).toBe("x = 2\n");
    await until(() => logins() >= afterFirst + 1);
    // one login for the first build, none for the same commit again, one for the next commit
    expect(logins()).toBe(afterFirst + 1);
    expect(again.log.text()).toContain("is already in the git cache");
    expect(readFileSync(join(onlyMirror(data), "config"), "utf8")).not.toContain(String(sshd.port));
    await Promise.all([first, again, next].map(({ ws }) => ws.remove()));
    repo.remove();
  });
});

function deadPid(): number {
  const child = spawnSync("true");
  return child.pid!;
}

async function until(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
