import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { constants as zlib, gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { makeRepo, type TestRepo } from "../support/git-repo.js";
import { keyLines, SANDBOX_MODES, secretsIn } from "../support/hostile-build.js";
import { pullRequestPayload } from "../support/payloads.js";
import { startSandboxedServer, type SandboxedServer } from "../support/sandboxed-server.js";
import { eventually } from "../support/server-process.js";
import { sendWebhook } from "../support/webhook.js";

/**
 * The docs of a merged pull request are built from the repository's own
 * code: docs/conf.py (and what it imports) and the docs' install commands.
 * The real server (`node dist/server.js`, `npm run build` first), in each
 * sandbox mode, must run them confined like the tests (issue 13, finding 1):
 * as a user that is not the server's, unable to read the server's keys,
 * .env, data dir or environment; and nothing the sandbox leaves in the HTML
 * output (symlinks) may make the server read or overwrite a file outside it.
 */

const APP_ID = 4646;
const INSTALLATION_ID = 81;
const OWNER = "acme";
const DOCS_INDEX = "Hostile\n=======\n\nNothing to see here.\n";

/** conf.py: everything it can find of the server's secrets, base32-encoded (past the log masking), in the log and in the published HTML. */
function hostileConf(targets: Record<string, string>, serverPid: number): string {
  return `import base64, json, os

project = "hostile"
TARGETS = ${JSON.stringify(targets)}
SERVER_PID = ${JSON.stringify(String(serverPid))}
NAMES = [b"WEBHOOK_SECRET", b"PRIVATE_KEY", b"AWS_SECRET_ACCESS_KEY", b"DECOY"]


def b32(data):
    return base64.b32encode(data).decode()


loot = []
print("DOCS-UID", os.getuid(), flush=True)
print("DOCS-ENV=" + json.dumps(dict(os.environ), sort_keys=True), flush=True)
for name, path in TARGETS.items():
    try:
        if os.path.isdir(path):
            data = "\\n".join(sorted(os.listdir(path))).encode()
        else:
            with open(path, "rb") as f:
                data = f.read(8192)
    except OSError as e:
        print("DENIED", name, type(e).__name__, flush=True)
        continue
    if data:
        loot.append("LOOT %s %s" % (name, b32(data)))
    else:
        print("EMPTY", name, flush=True)

seen = {"environ": 0, "cmdline": 0}
server = {"environ": "DENIED", "cmdline": "DENIED"}
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for kind in ("environ", "cmdline"):
        try:
            with open("/proc/%s/%s" % (pid, kind), "rb") as f:
                data = f.read()
        except OSError:
            continue
        seen[kind] += 1
        if pid == SERVER_PID:
            server[kind] = "READ"
        if kind == "environ" and any(n in data for n in NAMES):
            loot.append("LOOT proc-%s-environ %s" % (pid, b32(data)))
print("PROC readable environs %d, cmdlines %d; the server's environ %s, cmdline %s"
      % (seen["environ"], seen["cmdline"], server["environ"], server["cmdline"]), flush=True)
for line in loot:
    print(line, flush=True)


def publish_loot(app, exception):
    with open(os.path.join(app.outdir, "loot.html"), "w") as f:
        f.write("<html><body><pre>%s</pre></body></html>\\n" % "\\n".join(loot))


def setup(app):
    app.connect("build-finished", publish_loot)
`;
}

/** A docs.install command (sh -c) that tries the same reads and prints what it got, base32-encoded. No network needed. */
function hostileInstall(targets: Record<string, string>, serverPid: number): string {
  const files = Object.entries(targets).map(([name, path]) => `${name}=${path}`);
  return [
    'echo "INSTALL-UID $(id -u)"',
    `for t in ${files.map((f) => `'${f}'`).join(" ")} '/proc/${serverPid}/environ=/proc/${serverPid}/environ'`,
    'do n="${t%%=*}"; p="${t#*=}"',
    'if [ -d "$p" ]; then b=$(ls -a "$p" 2>/dev/null | base32 -w0); else b=$(head -c 8192 "$p" 2>/dev/null | base32 -w0); fi',
    'if [ -n "$b" ]; then echo "INSTALL-LOOT $n $b"; else echo "INSTALL-DENIED $n"; fi',
    "done",
  ].join("; ");
}

/** conf.py that, once Sphinx is done, leaves symlinks to root's files in the HTML output and in place of the archive pyci packs it into. */
function symlinkConf(victims: { file: string; dir: string; archive: string }): string {
  return `import os

project = "symlinks"
VICTIMS = ${JSON.stringify(victims)}


def plant(app, exception):
    out = app.outdir
    os.symlink(VICTIMS["file"], os.path.join(out, "leak.html"))
    os.symlink(VICTIMS["dir"], os.path.join(out, "leakdir"))
    archive = os.path.join(os.path.dirname(out.rstrip("/")), "docs-html.tar.gz")
    try:
        os.remove(archive)
    except FileNotFoundError:
        pass
    os.symlink(VICTIMS["archive"], archive)
    print("PLANTED", out, archive, flush=True)


def setup(app):
    app.connect("build-finished", plant)
`;
}

/** Every regular file under `dir` (symlinks not followed). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => lstatSync(path, { throwIfNoEntry: false })?.isFile());
}

/** Bytes in short: their size and their start (a failed comparison shows no binary). */
function describeBytes(data: Buffer): { bytes: number; head: string } {
  return { bytes: data.length, head: JSON.stringify(data.subarray(0, 24).toString("latin1")) };
}

const describeFile = (path: string) => describeBytes(readFileSync(path));
const describeText = (text: string) => describeBytes(Buffer.from(text));

/** The bytes of a .tar.gz and of every file in it, and its listing (`tar -tvzf`). */
function unpackAsset(archive: Buffer, scratch: string): { listing: string; bytes: string } {
  const dir = mkdtempSync(join(scratch, "asset-"));
  const file = join(dir, "asset.tar.gz");
  writeFileSync(file, archive);
  const listing = execFileSync("tar", ["-tvzf", file], { encoding: "utf8" });
  const tar = gunzipSync(archive).toString("latin1");
  return { listing, bytes: `${archive.toString("latin1")}\n${tar}` };
}

describe.each(SANDBOX_MODES)("the docs of a merged pull request, CI_SANDBOX=$mode", (sandbox) => {
  const { runs } = sandbox;
  const awsDecoy = `aws-decoy-${randomBytes(18).toString("hex")}`;
  const dotenvDecoy = `dotenv-decoy-${randomBytes(18).toString("hex")}`;
  let pyci: SandboxedServer;
  let scratch: string;
  const repos: TestRepo[] = [];
  let pr = 20;

  /** Merges a pull request of `repo` (named `name`) and waits for its ci/docs to be final. */
  const merge = async (name: string, repo: TestRepo) => {
    const { fake, sshd, server, webhookSecret } = pyci;
    const payload = pullRequestPayload({
      action: "closed",
      merged: true,
      mergeCommitSha: repo.sha,
      owner: OWNER,
      repo: name,
      number: ++pr,
      headSha: "3".repeat(40),
      sshUrl: sshd.sshUrl(repo.dir),
      cloneUrl: `http://127.0.0.1:9/${OWNER}/${name}.git`,
      installationId: INSTALLATION_ID,
      title: "Docs",
    });
    const hookUrl = `${server.url}/api/github/webhooks`;
    const res = await sendWebhook({ url: hookUrl, secret: webhookSecret, event: "pull_request", payload });
    expect(res.status, res.body).toBeLessThan(300);
    await fake.waitFor(
      () =>
        ["success", "failure", "error"].includes(String(latestStatus(fake.statuses, repo.sha, "ci/docs")?.body.state)),
      120_000,
    );
    await fake.waitFor(
      () => fake.checkRuns.some((r) => r.fields.head_sha === repo.sha && r.fields.status === "completed"),
      20_000,
    );
    const status = latestStatus(fake.statuses, repo.sha, "ci/docs")!.body;
    return {
      status,
      buildUrl: status.target_url as string,
      tag: `docs-${repo.sha.slice(0, 7)}`,
      run: fake.checkRuns.find((r) => r.fields.head_sha === repo.sha)!,
    };
  };

  beforeAll(async () => {
    if (!runs) return;
    pyci = await startSandboxedServer(sandbox, {
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      keyFile: true,
      cwdFiles: { ".env": `DECOY_API_TOKEN=${dotenvDecoy}\n` },
      env: { AWS_SECRET_ACCESS_KEY: awsDecoy, CI_CONCURRENCY: "1", CI_STEP_TIMEOUT: "120" },
    });
    scratch = mkdtempSync(join(tmpdir(), "pyci-docs-test-"));
  }, 60_000);

  afterAll(async () => {
    if (!runs) return;
    await pyci?.stop();
    for (const repo of repos) repo.remove();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it.skipIf(!runs)(
    "runs a hostile conf.py and docs.install sandboxed: the docs build, nothing secret gets out",
    async () => {
      const name = "hostile-docs";
      const { fake, sshd, server, cwd, dataDir, privateKey, webhookSecret } = pyci;
      const keyPath = pyci.keyPath!;
      const targets = {
        "app-key": keyPath,
        "ssh-key": sshd.clientKeyPath,
        dotenv: join(cwd, ".env"),
        "data-dir": dataDir,
        "pyci-db": join(dataDir, "pyci.db"),
        "server-environ": `/proc/${server.child.pid}/environ`,
      };
      const pid = server.child.pid!;
      fake.setContent(
        OWNER,
        name,
        ".github/pyci.yml",
        `docs:\n  install:\n    - ${JSON.stringify(hostileInstall(targets, pid))}\n`,
      );
      const repo = makeRepo({ "docs/conf.py": hostileConf(targets, pid), "docs/index.rst": DOCS_INDEX });
      repos.push(repo);

      const { status, buildUrl, tag, run } = await merge(name, repo);
      const logText = await (await fetch(`${buildUrl}/docs.log`)).text();

      // the docs still build (the install command and conf.py ran), and publish
      expect(status.state, `${JSON.stringify(status)}\n${logText.slice(-3000)}`).toBe("success");
      expect(logText).toContain("INSTALL-UID");
      expect(logText).toContain("DOCS-ENV=");

      // as neither root nor the server's user
      const uids = [...logText.matchAll(/^(?:INSTALL|DOCS)-UID (\d+)$/gm)].map((m) => Number(m[1]));
      expect(uids).toHaveLength(2);
      for (const uid of uids) {
        expect.soft(uid, "the docs' code ran as root").not.toBe(0);
        expect.soft(uid, "the docs' code ran as the server's user").not.toBe(process.getuid!());
      }

      // it read nothing of the server's: no key, no .env, no data dir, no environment of the server
      const loot = [...logText.matchAll(/^(?:INSTALL-)?LOOT (\S+)/gm)].map((m) => m[1]);
      expect.soft(loot, "what the docs' code could read").toEqual([]);
      expect.soft(logText).toMatch(/the server's environ DENIED/);

      // its environment is the allow-list (DOCUTILSCONFIG: Sphinx sets it in its own process; LC_CTYPE: Python's C locale coercion)
      const env = JSON.parse(/^DOCS-ENV=(\{.*\})$/m.exec(logText)![1]!) as Record<string, string>;
      const allowed =
        /^(PATH|HOME|TMPDIR|LANG|LC_ALL|PYTHON[A-Z]+|PIP_[A-Z_]+|VIRTUAL_ENV|DOCUTILSCONFIG|LC_CTYPE|PYCI_RUN|PWD|SHLVL|_)$/;
      expect.soft(Object.keys(env).filter((n) => !allowed.test(n))).toEqual([]);

      // nothing secret, in any form, anywhere pyci shows or publishes
      const asset = fake.asset(OWNER, name, tag, "docs-html.tar.gz");
      expect(asset, "the docs were published").toBeDefined();
      const unpacked = unpackAsset(asset!, scratch);
      expect(unpacked.listing).toMatch(/ index\.html$/m);
      const html = await (await fetch(buildUrl)).text();
      const secrets = [
        webhookSecret,
        awsDecoy,
        dotenvDecoy,
        ...keyLines(privateKey),
        ...keyLines(readFileSync(sshd.clientKeyPath, "utf8")),
      ];
      const places: [string, string][] = [
        ["docs.log", logText],
        ["build page", html],
        ["check run", JSON.stringify(run.fields)],
        ["statuses", JSON.stringify(fake.statuses)],
        ["release asset", unpacked.bytes],
      ];
      for (const [where, text] of places) {
        expect.soft(secretsIn(text, secrets), `secrets in ${where}`).toEqual([]);
        expect.soft(secretsIn(text, ["SQLite format 3"]), `the database in ${where}`).toEqual([]);
      }
    },
    180_000,
  );

  it.skipIf(!runs)(
    "publishes nothing outside the HTML output, and overwrites nothing, whatever symlinks conf.py leaves",
    async () => {
      const name = "symlink-docs";
      const { fake, workDir, dataDir } = pyci;
      // root's files, each with a content of its own
      const victimRoot = mkdtempSync(join(tmpdir(), "pyci-docs-victims-"));
      const victimDir = join(victimRoot, "dir");
      mkdirSync(victimDir, { mode: 0o700 });
      const contents = {
        file: `victim-file-${randomBytes(24).toString("hex")}\n`,
        inDir: `victim-in-dir-${randomBytes(24).toString("hex")}\n`,
        archive: `victim-archive-${randomBytes(24).toString("hex")}\n`,
      };
      const victims = {
        file: join(victimRoot, "file.html"),
        dir: victimDir,
        archive: join(victimRoot, "archive.tar.gz"),
      };
      writeFileSync(victims.file, contents.file, { mode: 0o600 });
      writeFileSync(join(victimDir, "inside.html"), contents.inDir, { mode: 0o600 });
      writeFileSync(victims.archive, contents.archive, { mode: 0o600 });
      const before = [victims.file, join(victimDir, "inside.html"), victims.archive].map(
        (path) => [path, statSync(path).mode, statSync(path).uid] as const,
      );
      try {
        const repo = makeRepo({ "docs/conf.py": symlinkConf(victims), "docs/index.rst": DOCS_INDEX });
        repos.push(repo);
        const { status, buildUrl, tag } = await merge(name, repo);
        const logText = await (await fetch(`${buildUrl}/docs.log`)).text();
        expect(logText, "conf.py planted its symlinks").toContain("PLANTED");
        // success or error: not asserted; final it is (merge() waited for that)
        expect(status.state).not.toBe("pending");

        // the victims are untouched: content, mode, owner
        expect.soft(describeFile(victims.file), "the file leak.html points at").toEqual(describeText(contents.file));
        expect
          .soft(describeFile(join(victimDir, "inside.html")), "the file in the directory leakdir points at")
          .toEqual(describeText(contents.inDir));
        expect
          .soft(describeFile(victims.archive), "the file the archive's path was pointed at")
          .toEqual(describeText(contents.archive));
        for (const [path, mode, uid] of before)
          expect.soft([path, statSync(path).mode, statSync(path).uid]).toEqual([path, mode, uid]);
        expect.soft(readdirSync(victimDir)).toEqual(["inside.html"]);

        // nothing of theirs is published, or kept
        const published: [string, string][] = [];
        const asset = fake.asset(OWNER, name, tag, "docs-html.tar.gz");
        if (asset) {
          const unpacked = unpackAsset(asset, scratch);
          published.push(["release asset", unpacked.bytes], ["release asset listing", unpacked.listing]);
        }
        await eventually(
          () => readdirSync(workDir).filter((n) => n.startsWith("pyci-build-")).length === 0,
          20_000,
          "the build's directory is removed",
        );
        for (const path of filesUnder(dataDir)) {
          const bytes = readFileSync(path);
          published.push([path, bytes.toString("latin1")]);
          if (bytes[0] === 0x1f && bytes[1] === 0x8b)
            published.push([
              `${path} (gunzipped)`,
              gunzipSync(bytes, { finishFlush: zlib.Z_SYNC_FLUSH }).toString("latin1"),
            ]);
        }
        for (const [where, text] of published) {
          expect
            .soft(
              secretsIn(
                text,
                Object.values(contents).map((c) => c.trim()),
              ),
              `victims' contents in ${where}`,
            )
            .toEqual([]);
        }
      } finally {
        rmSync(victimRoot, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
