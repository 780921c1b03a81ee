import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main } from "../../src/cli.js";
import { backupCommand } from "../../src/cli/backup-command.js";
import { BuildStore, newBuildId } from "../../src/store/build-store.js";
import { logText } from "../support/store-writer.js";

let root: string;
let dataDir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "pyci-backup-"));
  dataDir = join(root, "data");
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function capture() {
  const parts: string[] = [];
  return { write: (t: string) => void parts.push(t), text: () => parts.join(""), isTTY: false };
}

async function backup(args: string[], env: NodeJS.ProcessEnv = { CI_DATA_DIR: dataDir }) {
  const out = capture();
  const err = capture();
  const code = await backupCommand(args, out, err, env, root);
  return { code, out: out.text(), err: err.text() };
}

/** A store with one finished build, its test log and a docs archive, as the server leaves them. */
function seedStore(): string {
  const store = new BuildStore(dataDir);
  const id = newBuildId();
  const record = {
    ...{ id, owner: "acme", repo: "widgets", sha: "b".repeat(40), event: "pull_request.opened" },
    ...{ pipeline: "pr", state: "success" as const, createdAt: new Date().toISOString(), steps: [] },
  };
  store.create(record);
  const log = store.openLog(id, "test", (t) => t);
  log.write(logText(id));
  log.close();
  mkdirSync(join(dataDir, "artifacts", id), { recursive: true });
  writeFileSync(join(dataDir, "artifacts", id, "docs.tar.gz"), "archive");
  mkdirSync(join(dataDir, "git-cache", "github.com"), { recursive: true });
  writeFileSync(join(dataDir, "git-cache", "github.com", "pack"), "cache");
  store.close();
  return id;
}

/** The real store, in a process of its own, writing builds and logs without pause until stopped. */
function startWriter(): { child: ChildProcess; written: () => number; ready: Promise<void> } {
  const child = spawn("node_modules/.bin/vite-node", ["test/support/store-writer.ts", dataDir], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let written = 0;
  let output = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      for (const match of output.matchAll(/(?:ready|wrote) (\d+)/g)) written = Math.max(written, Number(match[1]));
      if (output.includes("ready")) resolve();
    });
    child.on("exit", (code) => reject(new Error(`the writer exited (${code}) before it was ready: ${output}`)));
  });
  return { child, written: () => written, ready };
}

describe("pyci backup", () => {
  it("copies the database and logs while the real store keeps writing in another process; the copy opens with the store", async () => {
    const writer = startWriter();
    try {
      await writer.ready;
      const copies: { dir: string; before: number }[] = [];
      for (const name of ["one", "two", "three"]) {
        const before = writer.written();
        const result = await backup([join(root, name)]);
        expect(result.err).toBe("");
        expect(result.code).toBe(0);
        expect(result.out).toMatch(new RegExp(`→ ${join(root, name)}: \\d+ build\\(s\\) \\(schema \\d+\\)`));
        copies.push({ dir: join(root, name), before });
        // the writer went on between backups: they were taken while it wrote
        const waitFor = writer.written() + 50;
        while (writer.written() < waitFor) await new Promise((r) => setTimeout(r, 20));
      }
      for (const { dir, before } of copies) {
        // the writer keeps no docs archive: no artifacts/ to copy
        expect(readdirSync(dir).sort()).toEqual(["logs", "pyci.db"]);
        // restored: the copy is a data dir the store opens, its history readable
        const store = new BuildStore(dir);
        try {
          const builds = store.list({ limit: 200 });
          const counts = store.counts();
          expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(before);
          expect(builds.length).toBe(200);
          // every build the copy has as finished has its whole log (the database is copied first)
          for (const build of builds.filter((b) => b.state === "success"))
            expect(await store.readLog(build.id, "test")).toBe(logText(build.id));
        } finally {
          store.close();
        }
        const db = new Database(join(dir, "pyci.db"), { readonly: true });
        expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
        db.close();
      }
      // nothing half-written is left beside the backups
      expect(readdirSync(root).sort()).toEqual(["data", "one", "three", "two"]);
    } finally {
      const exited = new Promise((resolve) => writer.child.once("exit", resolve));
      writer.child.kill("SIGTERM");
      await exited;
    }
  });

  it("keeps logs and docs archives, leaves the git cache out, and writes files only pyci's user can read", async () => {
    const id = seedStore();
    const target = join(root, "copy");
    const result = await backup([target]);
    expect(result.code).toBe(0);
    expect(result.out).toContain("1 build(s)");
    expect(readdirSync(target).sort()).toEqual(["artifacts", "logs", "pyci.db"]);
    expect(readdirSync(join(target, "artifacts", id))).toEqual(["docs.tar.gz"]);
    expect(existsSync(join(target, "git-cache"))).toBe(false);
    const store = new BuildStore(target);
    expect(store.get(id)?.state).toBe("success");
    expect(await store.readLog(id, "test")).toBe(logText(id));
    store.close();
  });

  it("reads CI_DATA_DIR from .env in the working directory, as pyci serve does", async () => {
    seedStore();
    writeFileSync(join(root, ".env"), `CI_DATA_DIR=${dataDir}\n`);
    const result = await backup([join(root, "copy")], { CI_DATA_DIR: join(root, "elsewhere") });
    expect(result.err).toBe("");
    expect(result.code).toBe(0);
  });

  it("refuses an existing target without --force, and replaces it with --force", async () => {
    seedStore();
    const target = join(root, "copy");
    mkdirSync(target);
    writeFileSync(join(target, "old"), "old");
    const refused = await backup([target]);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(`pyci backup: ${target} exists: give a new name, or --force to replace it\n`);
    expect(readdirSync(target)).toEqual(["old"]);
    const forced = await backup([target, "--force"]);
    expect(forced.code).toBe(0);
    expect(readdirSync(target).sort()).toEqual(["artifacts", "logs", "pyci.db"]);
    expect(readdirSync(root).sort()).toEqual(["copy", "data"]);
  });

  it("says where it looked when there is no database", async () => {
    const result = await backup([join(root, "copy")]);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`No database at ${join(dataDir, "pyci.db")}: is CI_DATA_DIR the one pyci serve uses?`);
    expect(existsSync(join(root, "copy"))).toBe(false);
  });

  it.skipIf(process.getuid?.() === 0)("says so when the target's directory cannot be written", async () => {
    seedStore();
    const locked = join(root, "locked");
    mkdirSync(locked, { mode: 0o500 });
    const result = await backup([join(locked, "copy")]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^pyci backup: Cannot write the backup in .*locked: EACCES/);
    chmodSync(locked, 0o700);
  });

  it("says so when the target's directory does not exist, leaving nothing behind", async () => {
    seedStore();
    const result = await backup([join(root, "missing", "copy")]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/^pyci backup: Cannot write the backup in .*missing: ENOENT/);
    expect(readdirSync(root)).toEqual(["data"]);
  });

  it.runIf(process.getuid?.() === 0)("refuses to run as another user than the database's owner", async () => {
    seedStore();
    const db = join(dataDir, "pyci.db");
    chownSync(db, 4242, 4242);
    const result = await backup([join(root, "copy")]);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${db} belongs to uid 4242: run pyci backup as that user`);
    expect(existsSync(`${db}-shm`)).toBe(false);
  });

  it("is listed in pyci --help, and its usage errors exit 2", async () => {
    const out = capture();
    expect(await main(["--help"], out, capture())).toBe(0);
    expect(out.text()).toContain("backup <directory>");
    expect(out.text()).toContain("Usage: pyci backup <directory> [--force]");
    expect((await backup([])).code).toBe(2);
    expect((await backup(["a", "b"])).code).toBe(2);
    expect((await backup(["--frce", "a"])).code).toBe(2);
    const help = await backup(["--help"]);
    expect(help.code).toBe(0);
    expect(help.out).toContain("--force");
  });
});
