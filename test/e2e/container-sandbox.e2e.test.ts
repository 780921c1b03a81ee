import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BUILD_TIMEOUT_MS,
  ensureTestBaseImage,
  podman as podmanWithTimeout,
  TEST_BASE_IMAGE as IMAGE,
  works,
} from "../support/test-base-image.js";

/**
 * pyci in a container (issue 13): which sandbox pyci's own decision
 * (resolveSandbox, dist/process/sandbox/resolve-sandbox.js) picks inside rootful
 * podman under which options, and that a command run through exec.js's `run`
 * in that sandbox really runs as a build's own uid. pyci's code is the
 * host's: its node binary (the image is Debian bookworm like the host, so
 * its glibc and libstdc++ fit), dist/ (`npm run build` first), python/ and
 * node_modules, all bound read-only into a minimal Debian image built here
 * with debootstrap (no registry is needed) and kept as `pyci-test-base`
 * for the next run. docs/security.md's paragraph on containers says what this
 * test measures.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const DIST = join(ROOT, "dist");
/**
 * The modules of dist/ the script below imports in the container, by path: a
 * file moved in src/ must fail this test at its start, named, not inside the container.
 */
const DIST_MODULES = {
  resolveSandbox: "process/sandbox/resolve-sandbox.js",
  exec: "process/exec.js",
  buildUids: "process/sandbox/build-uids.js",
};
/**
 * The build uids (CI_SANDBOX_UIDS) in the containers: a range of this file's own, outside the
 * default 900000-965535 and the other tests' ranges. Rootful podman shares the host's uids, so a
 * pyci server started on the host by another test, which kills every process of its range at
 * start-up, or a test that ends its build as uid U (kill -1 as U), would kill what a container
 * runs as those uids.
 */
const UIDS = { first: 970_000, count: 1_000 };
/** A user of the container that is not root (no such account in the image: a uid is enough). */
const NON_ROOT = "1000:1000";
const RUN_TIMEOUT_MS = 60_000;

/** Why this file cannot run here; undefined when it can. */
const skipReason = (() => {
  if (process.platform !== "linux") return "Linux only";
  if (process.getuid?.() !== 0) return "rootful podman needs root";
  if (!works("podman", ["--version"])) return "podman is not installed (apt-get install podman runc debootstrap)";
  if (!works("runc", ["--version"])) return "runc is not installed (apt-get install runc)";
  return undefined;
})();

/** What the script below prints: pyci's decision per CI_SANDBOX mode, and what the command said in that sandbox. */
interface ContainerReport {
  /** The uid pyci ran as in the container. */
  uid: number;
  modes: Record<"auto" | "bwrap" | "user", ModeReport>;
  /** Processes of the container that are zombies at the end (waited for up to the reaping time asked). */
  zombies: number;
}

type ModeReport =
  | { ok: false; problem: string }
  | {
      ok: true;
      kind: "bwrap" | "user" | "off";
      description: string;
      perBuildUids: boolean;
      run: {
        leasedUid: number | null;
        /** Whether a living process of the leased uid is left (null: no lease, pyci is not root). */
        leftBeforeRelease: boolean | null;
        leftAfterRelease: boolean | null;
        exitCode: number | null;
        signal: string | null;
        timedOut: boolean;
        spawnError: string | null;
        stdout: string;
        stderr: string;
      };
    };

/**
 * The code under test: prints its uid, and leaves a daemon that escapes what
 * exec.js kills when a command ends (its process group, and what carries the
 * run's marker in its environment): a new session, an empty environment. Only
 * the end of the build's uid (BuildUids' release: kill -1 as that uid) or
 * bubblewrap's pid namespace ends it.
 */
const COMMAND = `import os
print(os.getuid(), flush=True)
# close-on-exec: the daemon's end closes once it is sleep with an empty environment, and the command
# ends only then (ending sooner, it would race exec.js's kill of what still carries the run's marker)
r, w = os.pipe()
if os.fork() == 0:
    os.close(r)
    os.setsid()
    if os.fork() == 0:
        null = os.open("/dev/null", os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.execve("/bin/sleep", ["sleep", "300"], {})
    os._exit(0)
os.close(w)
os.read(r, 1)
`;

/**
 * Runs in the container with the host's node: pyci's decision for each mode,
 * then `python3 -c 'print(os.getuid())'` through exec.js's run in the
 * sandbox decided, built as prepare-sandbox builds it (a leased uid, the
 * build's dir writable and given to that uid); then whether a process of
 * that uid is left before and after the lease is released.
 */
const SCRIPT = `
import { readdirSync, readFileSync } from "node:fs";
import { chown, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
const dist = process.argv[2];
const waitForReapingMs = Number(process.argv[3] ?? 0);
const { resolveSandbox } = await import(dist + "/" + ${JSON.stringify(DIST_MODULES.resolveSandbox)});
const { run } = await import(dist + "/" + ${JSON.stringify(DIST_MODULES.exec)});
const { uidsWithProcesses } = await import(dist + "/" + ${JSON.stringify(DIST_MODULES.buildUids)});
const COMMAND = ${JSON.stringify(COMMAND)};
const uids = ${JSON.stringify(UIDS)};
const report = { uid: process.getuid(), modes: {} };
for (const mode of ["auto", "bwrap", "user"]) {
  const policy = await resolveSandbox({ mode, uids, hidden: [] });
  if (!policy.ok) {
    report.modes[mode] = { ok: false, problem: policy.problem };
    continue;
  }
  const entry = { ok: true, kind: policy.sandbox.kind, description: policy.description, perBuildUids: !!policy.uids };
  const dir = await mkdtemp(join(tmpdir(), "pyci-container-build-"));
  const lease = await policy.uids?.lease();
  try {
    if (lease) await chown(dir, lease.uid, lease.uid);
    const user = lease ? { user: { name: "uid " + lease.uid, uid: lease.uid, gid: lease.uid } } : {};
    const sandbox = { kind: policy.sandbox.kind, hidden: [], readable: [], writable: [dir], ...user };
    const output = [];
    const r = await run({
      cmd: "python3",
      args: ["-c", COMMAND],
      cwd: dir,
      env: { PATH: "/usr/bin:/bin" },
      timeoutMs: 30000,
      sandbox,
      captureStdout: true,
      log: { write: (text) => output.push(text) },
    });
    const left = () => (lease ? uidsWithProcesses({ first: lease.uid, count: 1 }).has(lease.uid) : null);
    // in bwrap the kernel kills the rest of the pid namespace as its init exits: moments after the command ends
    let leftBeforeRelease = left();
    for (let waited = 0; leftBeforeRelease && policy.sandbox.kind === "bwrap" && waited < 2000; waited += 50) {
      await sleep(50);
      leftBeforeRelease = left();
    }
    await lease?.release();
    entry.run = {
      leasedUid: lease ? lease.uid : null,
      leftBeforeRelease,
      leftAfterRelease: left(),
      exitCode: r.exitCode,
      signal: r.signal,
      timedOut: r.timedOut,
      spawnError: r.spawnError ?? null,
      stdout: r.stdout.trim(),
      stderr: output.join("").trim().slice(0, 500),
    };
  } finally {
    await lease?.release();
    await rm(dir, { recursive: true, force: true });
  }
  report.modes[mode] = entry;
}
// the zombies left in the container: the daemons' parents, and the daemons once killed (orphans, whose parent is pid 1)
const zombies = () =>
  readdirSync("/proc").filter((entry) => {
    try {
      return /^\\d+$/.test(entry) && /^State:\\s+Z/m.test(readFileSync("/proc/" + entry + "/status", "utf8"));
    } catch {
      return false;
    }
  }).length;
report.zombies = zombies();
for (let waited = 0; report.zombies > 0 && waited < waitForReapingMs; waited += 50) {
  await sleep(50);
  report.zombies = zombies();
}
process.stdout.write("PYCI-REPORT " + JSON.stringify(report) + "\\n");
process.exit(0);
`;

function podman(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return podmanWithTimeout(args, RUN_TIMEOUT_MS);
}

describe(`pyci's sandbox in rootful podman${skipReason ? ` (skipped: ${skipReason})` : ""}`, () => {
  let scriptDir: string;
  const containers: string[] = [];

  beforeAll(async () => {
    if (skipReason) return;
    const missing = Object.values(DIST_MODULES).filter((path) => !existsSync(join(DIST, path)));
    if (missing.length > 0)
      throw new Error(
        `dist/ lacks ${missing.join(", ")}: run \`npm run build\` first, or, if src/ moved them, update DIST_MODULES`,
      );
    await ensureTestBaseImage((line) => console.log(`[container-sandbox] ${line}`));
    scriptDir = mkdtempSync(join(tmpdir(), "pyci-container-script-"));
    writeFileSync(join(scriptDir, "decide.mjs"), SCRIPT);
    chmodSync(scriptDir, 0o755); // readable by the container's non-root user too
    chmodSync(join(scriptDir, "decide.mjs"), 0o644);
  }, BUILD_TIMEOUT_MS);

  afterAll(async () => {
    // a container whose client timed out may still be running: only ours, by name
    for (const name of containers) await podman(["rm", "--force", "--ignore", name]).catch(() => undefined);
    if (scriptDir) rmSync(scriptDir, { recursive: true, force: true });
  });

  /** pyci's decision and the command's uid in a container started with `options`. */
  async function inContainer(options: string[], waitForReapingMs = 0): Promise<ContainerReport> {
    const name = `pyci-e2e-sandbox-${randomBytes(6).toString("hex")}`;
    containers.push(name);
    const binds = [
      [process.execPath, "/usr/local/bin/node"],
      [join(ROOT, "package.json"), join(ROOT, "package.json")], // "type": "module" for dist/
      [DIST, DIST],
      [join(ROOT, "python"), join(ROOT, "python")], // the spawn helper
      [realpathSync(join(ROOT, "node_modules")), join(ROOT, "node_modules")],
      [scriptDir, "/pyci-e2e"],
    ].flatMap(([from, to]) => ["--volume", `${from}:${to}:ro`]);
    // the --ulimit values: without them runc cannot set podman's defaults for RLIMIT_NOFILE and RLIMIT_NPROC here (above the host's hard limits)
    const args = [
      "run",
      "--rm",
      "--name",
      name,
      "--pull=never",
      "--network",
      "host",
      "--ulimit",
      "nofile=1024:1024",
      "--ulimit",
      "nproc=1024:1024",
      ...options,
      ...binds,
      "--workdir",
      "/",
      IMAGE,
      "node",
      "/pyci-e2e/decide.mjs",
      DIST,
      String(waitForReapingMs),
    ];
    const { stdout, stderr } = await podman(args);
    const line = stdout.split("\n").find((l) => l.startsWith("PYCI-REPORT "));
    if (!line) throw new Error(`no report from the container (podman ${options.join(" ")}):\n${stdout}\n${stderr}`);
    return JSON.parse(line.slice("PYCI-REPORT ".length)) as ContainerReport;
  }

  function expectRanAsBuildUid(mode: ModeReport, kind: "bwrap" | "user"): void {
    expect(mode).toMatchObject({ ok: true, kind, perBuildUids: true });
    if (!mode.ok) return;
    expect(mode.run).toMatchObject({ exitCode: 0, spawnError: null, timedOut: false, stderr: "" });
    const uid = Number(mode.run.stdout);
    expect(uid).toBe(mode.run.leasedUid);
    expect(uid).toBeGreaterThanOrEqual(UIDS.first);
    expect(uid).toBeLessThan(UIDS.first + UIDS.count);
    // the daemon outlived its command in user mode (no pid namespace), not in bwrap; the end of the uid ended it
    expect(mode.run).toMatchObject({ leftBeforeRelease: kind === "user", leftAfterRelease: false });
  }

  it.skipIf(!!skipReason)(
    "1. default options, pyci as root: bubblewrap cannot make its namespaces; auto falls back to user mode and runs the command as a build uid",
    async () => {
      const report = await inContainer([]);
      expect(report.uid).toBe(0);
      expectRanAsBuildUid(report.modes.auto, "user");
      expectRanAsBuildUid(report.modes.user, "user");
      // root in the container lacks CAP_SYS_ADMIN, and pyci as root runs bwrap without a user namespace of its own
      expect(report.modes.bwrap).toEqual({
        ok: false,
        problem: expect.stringMatching(
          /^CI_SANDBOX=bwrap, but bubblewrap does not work here: bwrap exited with code 1: .*Operation not permitted/,
        ),
      });
    },
  );

  it.skipIf(!!skipReason)(
    "2. --cap-add SYS_ADMIN, pyci as root: bubblewrap works (auto picks it) and the command runs as a build uid",
    async () => {
      const report = await inContainer(["--cap-add", "SYS_ADMIN"]);
      expect(report.uid).toBe(0);
      expectRanAsBuildUid(report.modes.auto, "bwrap");
      expectRanAsBuildUid(report.modes.bwrap, "bwrap");
      expectRanAsBuildUid(report.modes.user, "user");
    },
  );

  it.skipIf(!!skipReason)(
    "3. --security-opt unmask=ALL, pyci as a non-root user: bubblewrap works in a user namespace of its own, as pyci's own uid; user mode cannot",
    async () => {
      const report = await inContainer(["--security-opt", "unmask=ALL", "--user", NON_ROOT]);
      expect(report.uid).toBe(1000);
      // Not a build uid: pyci is not root, so there is no CI_SANDBOX_UIDS to lease from; bwrap's own user
      // namespace maps pyci's uid to itself, and the namespaces (mount, pid) are what confines the build.
      for (const mode of [report.modes.auto, report.modes.bwrap]) {
        expect(mode).toMatchObject({ ok: true, kind: "bwrap", perBuildUids: false, description: "bwrap" });
        if (mode.ok)
          expect(mode.run).toMatchObject({
            exitCode: 0,
            spawnError: null,
            timedOut: false,
            leasedUid: null,
            leftBeforeRelease: null,
            stdout: "1000",
            stderr: "",
          });
      }
      expect(report.modes.user).toEqual({
        ok: false,
        problem: "CI_SANDBOX=user: pyci does not run as root, so it cannot run builds under uids of their own",
      });
    },
  );

  it.skipIf(!!skipReason)(
    "3b. --security-opt unmask=ALL, pyci as root: not enough for bubblewrap (pyci as root asks for no user namespace); auto is user mode",
    async () => {
      const report = await inContainer(["--security-opt", "unmask=ALL"]);
      expect(report.uid).toBe(0);
      expectRanAsBuildUid(report.modes.auto, "user");
      expect(report.modes.bwrap).toEqual({
        ok: false,
        problem: expect.stringMatching(
          /^CI_SANDBOX=bwrap, but bubblewrap does not work here: .*Operation not permitted/,
        ),
      });
    },
  );

  it.skipIf(!!skipReason)(
    "4. default options, pyci as a non-root user: no sandbox works, and auto says so instead of running builds unconfined",
    async () => {
      const report = await inContainer(["--user", NON_ROOT]);
      expect(report.uid).toBe(1000);
      // podman masks parts of /proc, so bwrap (in its user namespace) may not mount a /proc of its own
      expect(report.modes.auto).toEqual({
        ok: false,
        problem: expect.stringMatching(
          /^no sandbox works here: bubblewrap does not \(bwrap exited with code 1: .*proc.*\) and pyci does not run as root.*CI_SANDBOX=off/,
        ),
      });
      expect(report.modes.bwrap).toMatchObject({ ok: false });
      expect(report.modes.user).toMatchObject({ ok: false });
    },
  );

  it.skipIf(!!skipReason)(
    "5. pid 1: pyci as the container's first process leaves the zombies of the processes builds orphan; with --init they are reaped",
    async () => {
      // node does not wait for children it did not start: the daemons' parents (which exited) and the daemons
      // (killed at the end of their uid) stay zombies, holding a pid each, and counting against their uid's RLIMIT_NPROC
      const withoutInit = await inContainer([], 2_000);
      expect(withoutInit.zombies).toBeGreaterThan(0);
      const withInit = await inContainer(["--init"], 2_000);
      expectRanAsBuildUid(withInit.modes.auto, "user");
      expect(withInit.zombies).toBe(0);
    },
  );
});
