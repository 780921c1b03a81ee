import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveSandbox, type SandboxSettings } from "../../../src/process/sandbox/resolve-sandbox.js";
import { runStages } from "../../../src/pipeline/run-stages.js";
import { sandboxCommand } from "../../../src/process/sandbox/sandbox-command.js";
import { checkStep } from "../../../src/pipeline/steps/check.js";
import { installStep } from "../../../src/pipeline/steps/install.js";
import { testStep } from "../../../src/pipeline/steps/test.js";
import type { RepoConfig, StepResult } from "../../../src/pipeline/types.js";
import { makeRepo } from "../../support/git-repo.js";
import { BWRAP, ROOT_USER, SYSTEM_PYTHON } from "../../support/hostile-build.js";

/** What the server has and the code under test must not get. */
const KEY_CONTENT = "-----BEGIN RSA PRIVATE KEY-----\nMIIEsandboxtestkeycontent0123456789\n";
const DECOY = "decoy-aws-secret-value-0123456789";
const secrets = mkdtempSync(join(tmpdir(), "pyci-secrets-"));
const keyPath = join(secrets, "app.pem");
const dataDir = join(secrets, "data");
const dbPath = join(dataDir, "pyci.db");

const cleanups: (() => void)[] = [];
beforeAll(() => {
  writeFileSync(keyPath, KEY_CONTENT, { mode: 0o600 });
  mkdirSync(dataDir, { mode: 0o700 });
  writeFileSync(dbPath, "SQLite format 3 pyci-db-content", { mode: 0o600 });
  process.env.AWS_SECRET_ACCESS_KEY = DECOY;
});
afterAll(() => {
  delete process.env.AWS_SECRET_ACCESS_KEY;
  for (const cleanup of cleanups.splice(0)) cleanup();
  rmSync(secrets, { recursive: true, force: true });
});

/** A test suite that dumps its environment, tries the server's files, and writes where it may. */
const ESCAPE_TEST = `import json, os, unittest

PATHS = ${JSON.stringify([keyPath, dbPath, dataDir])}


class Escape(unittest.TestCase):
    def test_escape(self):
        print("ENV=" + json.dumps(dict(os.environ)))
        print("UID", os.getuid())
        for path in PATHS:
            try:
                if os.path.isdir(path):
                    print("LISTED", path, os.listdir(path))
                else:
                    with open(path) as f:
                        print("READ", path, f.read())
            except OSError as e:
                print("DENIED", path, type(e).__name__)
        with open(os.path.join(os.environ["TMPDIR"], "scratch.txt"), "w") as f:
            f.write("tmp is writable")
        with open("written-by-test.txt", "w") as f:
            f.write("the checkout is writable")
`;

/** A test that asks git for the checkout's history, and tries the server's database beside the cache. */
const GIT_TEST = `import os, subprocess, unittest


class Git(unittest.TestCase):
    def test_git(self):
        print("HEAD", subprocess.run(["git", "log", "-1", "--format=%H"], capture_output=True, text=True, check=True).stdout.strip())
        try:
            open(${JSON.stringify(dbPath)}).read()
            print("READ db")
        except OSError as e:
            print("DENIED", ${JSON.stringify(dbPath)}, type(e).__name__)
        try:
            print("LISTED", ${JSON.stringify(dataDir)}, os.listdir(${JSON.stringify(dataDir)}))
        except OSError as e:
            print("DENIED", ${JSON.stringify(dataDir)}, type(e).__name__)
`;

function config(extra: Partial<RepoConfig> = {}): RepoConfig {
  return {
    check: { enforceTypeErrors: undefined },
    test: { startDir: ".", pattern: "test*.py" },
    install: [],
    docs: { install: [], warningsAsErrors: false },
    ...extra,
  };
}

async function pipeline(
  settings: SandboxSettings | undefined,
  python: string,
  files: Record<string, string>,
  repoConfig = config(),
  stages = [[testStep]],
) {
  const repo = makeRepo(files);
  const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
  cleanups.push(
    () => repo.remove(),
    () => rmSync(scratchDir, { recursive: true, force: true }),
  );
  const logs = new Map<string, string>();
  const results: StepResult[] = await runStages(stages, {
    dir: repo.dir,
    scratchDir,
    repoConfig,
    python,
    timeoutMs: 120_000,
    ...(settings ? { sandbox: settings } : {}),
    openLog: (step) => ({ write: (text) => logs.set(step, (logs.get(step) ?? "") + text), close() {} }),
  });
  return { results, logs, repo, text: [...logs.values()].join("\n") };
}

const hidden = [keyPath, dataDir];
/** The build uids (CI_SANDBOX_UIDS) of these tests: one per running build. */
const UIDS = { first: 910_000, count: 1_000 };
/** The uid the code under test said it ran as, which must be one of UIDS. */
function buildUid(text: string): number {
  return Number(/^UID (\d+)$/m.exec(text)?.[1]);
}

function expectNothingLeaked(text: string) {
  expect(text).toContain("ENV=");
  expect(text).not.toContain(DECOY);
  expect(text).not.toContain("MIIEsandboxtestkeycontent");
  expect(text).not.toContain("pyci-db-content");
  expect(text).not.toMatch(/^(READ|LISTED) /m);
  for (const path of [keyPath, dbPath, dataDir])
    expect(text).toMatch(new RegExp(`DENIED ${path} (PermissionError|FileNotFoundError)`));
  const env = JSON.parse(/ENV=(\{.*\})$/m.exec(text)![1]!) as Record<string, string>;
  expect(Object.keys(env).sort()).not.toContain("AWS_SECRET_ACCESS_KEY");
}

describe("the sandbox of the code under test", () => {
  it("without one (off) the code under test reads the server's files: what the sandbox is for", async () => {
    const { results, text } = await pipeline({ mode: "off", uids: UIDS, hidden }, SYSTEM_PYTHON ?? "python3", {
      "test_escape.py": ESCAPE_TEST,
    });
    expect(results[0]).toMatchObject({ name: "test", state: "success" });
    // the environment is an allow-list in every mode
    expect(text).not.toContain(DECOY);
    if (ROOT_USER) expect(text).toContain("MIIEsandboxtestkeycontent");
  });

  it.skipIf(!BWRAP)(
    "bwrap: the server's files are not there, the environment is the allow-list, the build's dirs are writable",
    async () => {
      const { results, text, repo } = await pipeline({ mode: "bwrap", uids: UIDS, hidden }, "python3", {
        "test_escape.py": ESCAPE_TEST,
      });
      expect(results.map((r) => [r.name, r.state, r.summary])).toEqual([["test", "success", "1 test passed"]]);
      expectNothingLeaked(text);
      expect(text).toMatch(new RegExp(`DENIED ${keyPath} FileNotFoundError`));
      if (ROOT_USER) expect(buildUid(text)).toBeGreaterThanOrEqual(UIDS.first);
      expect(existsSync(join(repo.dir, "written-by-test.txt"))).toBe(true);
    },
  );

  it.skipIf(!BWRAP)("bwrap, test.parallel: every test process is confined as the serial run is", async () => {
    const { results, text } = await pipeline(
      { mode: "bwrap", uids: UIDS, hidden },
      "python3",
      { "test_escape.py": ESCAPE_TEST, "test_escape_too.py": ESCAPE_TEST },
      config({ test: { startDir: ".", pattern: "test*.py", parallel: 2 } }),
    );
    expect(results.map((r) => [r.name, r.state, r.summary])).toEqual([["test", "success", "2 tests passed"]]);
    // both processes ran the hunt: two environments dumped, each path denied twice
    expect(text.match(/ENV=\{/g)).toHaveLength(2);
    expect(text.match(new RegExp(`DENIED ${keyPath} `, "g"))).toHaveLength(2);
    expectNothingLeaked(text);
  });

  it.skipIf(!ROOT_USER || !SYSTEM_PYTHON)(
    "user: steps run as a uid of the build's own, which cannot read the server's key files",
    async () => {
      const { results, text, repo } = await pipeline({ mode: "user", uids: UIDS, hidden }, SYSTEM_PYTHON!, {
        "test_escape.py": ESCAPE_TEST,
      });
      expect(results.map((r) => [r.name, r.state])).toEqual([["test", "success"]]);
      expectNothingLeaked(text);
      expect(text).toMatch(new RegExp(`DENIED ${keyPath} PermissionError`));
      expect(buildUid(text)).toBeGreaterThanOrEqual(UIDS.first);
      expect(buildUid(text)).toBeLessThan(UIDS.first + UIDS.count);
      expect(existsSync(join(repo.dir, "written-by-test.txt"))).toBe(true);
    },
  );

  it.skipIf(!ROOT_USER || !SYSTEM_PYTHON)(
    "user: an interpreter the sandbox user cannot run errors every step, saying so",
    async () => {
      const hiddenPython = mkdtempSync(join(tmpdir(), "pyci-private-python-"));
      cleanups.push(() => rmSync(hiddenPython, { recursive: true, force: true }));
      chmodSync(hiddenPython, 0o700);
      // a virtualenv in a directory of root's (as CI_PYTHON could be): nobody cannot read its pyvenv.cfg
      execFileSync(SYSTEM_PYTHON!, ["-m", "venv", "--without-pip", join(hiddenPython, "venv")]);
      const { results } = await pipeline(
        { mode: "user", uids: UIDS, hidden },
        join(hiddenPython, "venv", "bin", "python3"),
        { "test_ok.py": "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n" },
      );
      expect(results.map((r) => [r.name, r.state])).toEqual([
        ["sandbox", "error"],
        ["test", "error"],
      ]);
      expect(results[0]!.summary).toMatch(
        /cannot run in the user sandbox as the build's uid.*readable and executable by every user/,
      );
      expect(results[1]!.summary).toMatch(/^Not run: sandbox errored/);
    },
  );

  it.skipIf(!BWRAP)("bwrap: install, check and test run confined, with the repository's env", async () => {
    const { results, text } = await pipeline(
      { mode: "bwrap", uids: UIDS, hidden },
      "python3",
      {
        "calc.py": "def add(a: int, b: int) -> int:\n    return a + b\n",
        "test_calc.py":
          "import os, unittest\nfrom calc import add\n\nclass T(unittest.TestCase):\n    def test_add(self):\n        self.assertEqual(add(1, 2), 3)\n        self.assertEqual(os.environ['PYCI_DEMO_MODE'.replace('PYCI_', '')], 'sandboxed')\n        print('VENV', os.environ.get('VIRTUAL_ENV', ''), __import__('sys').prefix)\n",
      },
      config({ install: ["python -c \"print('install ran')\""], env: { DEMO_MODE: "sandboxed" } }),
      [[installStep], [checkStep, testStep]],
    );
    expect(results.map((r) => [r.name, r.state])).toEqual([
      ["install", "success"],
      ["check", "success"],
      ["test", "success"],
    ]);
    expect(text).toContain("install ran");
    expect(text).toMatch(/VENV\s+\S*pyci-scratch-\w+\/venv/);
  });

  it.skipIf(!BWRAP)(
    "bwrap: git in a checkout that borrows objects from a cache in the hidden data dir sees its history, and nothing else there",
    async () => {
      // the repository cache's layout: a mirror in CI_DATA_DIR, the checkout cloned --shared from it
      const origin = makeRepo({ "test_git.py": GIT_TEST });
      const mirror = join(dataDir, "git-cache", "origin.git");
      execFileSync("git", ["clone", "-q", "--mirror", origin.dir, mirror]);
      const checkout = mkdtempSync(join(tmpdir(), "pyci-checkout-"));
      const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
      cleanups.push(
        () => origin.remove(),
        () => rmSync(checkout, { recursive: true, force: true }),
        () => rmSync(scratchDir, { recursive: true, force: true }),
      );
      execFileSync("git", ["clone", "-q", "--shared", mirror, checkout]);
      let text = "";
      const results = await runStages([[testStep]], {
        dir: checkout,
        scratchDir,
        repoConfig: config(),
        python: "python3",
        timeoutMs: 120_000,
        sandbox: { mode: "bwrap", uids: UIDS, hidden },
        openLog: () => ({ write: (t) => (text += t), close() {} }),
      });
      expect(results.map((r) => [r.name, r.state])).toEqual([["test", "success"]]);
      expect(text).toContain(`HEAD ${origin.sha}`);
      expect(text).toMatch(new RegExp(`DENIED ${dbPath} FileNotFoundError`));
      // the data dir on the way to the mirror's objects is an empty stand-in, and not even that can be listed
      if (ROOT_USER) expect(text).toMatch(new RegExp(`DENIED ${dataDir} PermissionError`));
      expect(text).not.toContain("LISTED");
    },
  );

  it.skipIf(!BWRAP)(
    "bwrap: asks an interpreter command (a pyenv shim, say) for its path once per server, not once per build",
    async () => {
      // a wrapper that notes every time it is run, then is the interpreter it wraps
      const wrapperDir = mkdtempSync(join(tmpdir(), "pyci-python-wrapper-"));
      cleanups.push(() => rmSync(wrapperDir, { recursive: true, force: true }));
      const calls = join(wrapperDir, "calls");
      const wrapper = join(wrapperDir, "python3");
      const real = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
      writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> ${calls}\nexec ${real} "$@"\n`, { mode: 0o755 });
      for (let build = 0; build < 2; build++) {
        const { results } = await pipeline({ mode: "bwrap", uids: UIDS, hidden }, wrapper, {
          "test_ok.py": "import unittest\n\nclass T(unittest.TestCase):\n    def test_ok(self):\n        pass\n",
        });
        expect(results.map((r) => [r.name, r.state])).toEqual([["test", "success"]]);
      }
      // the steps run the interpreter the wrapper named, not the wrapper
      expect(readFileSync(calls, "utf8").trim().split("\n")).toEqual([
        expect.stringContaining("print(sys.executable)"),
      ]);
    },
  );

  it("auto picks bwrap where it works, else the user mode when root, else none: never off unless asked", async () => {
    const policy = await resolveSandbox({ mode: "auto", uids: UIDS, hidden });
    if (!BWRAP && !ROOT_USER) {
      expect(policy).toEqual({
        ok: false,
        problem: expect.stringMatching(/no sandbox works here: .* set CI_SANDBOX=off/),
      });
      return;
    }
    expect(policy.ok).toBe(true);
    if (!policy.ok) return;
    expect(policy.sandbox.kind).toBe(BWRAP ? "bwrap" : "user");
  });

  it("bwrap's command line hides a key file that sits in a visible directory, and drops to the user as root", () => {
    const command = sandboxCommand(
      {
        kind: "bwrap",
        user: { uid: 65534, gid: 65534 },
        hidden: ["/etc/pyci/app.pem", "/srv/pyci/data"],
        readable: ["/opt/python"],
        writable: ["/work/b/src", "/work/b/scratch"],
      },
      { cmd: "python3", args: ["-m", "unittest"] },
      "/work/b/src",
      (path) => (path === "/etc/pyci/app.pem" ? "file" : ["/usr", "/etc"].includes(path) ? "dir" : undefined),
    );
    const line = command.args.join(" ");
    expect(command.cmd).toBe("bwrap");
    expect(line).toContain("--ro-bind /dev/null /etc/pyci/app.pem");
    expect(line).not.toContain("/srv/pyci/data");
    expect(line).toContain("--bind /work/b/src /work/b/src --bind /work/b/scratch /work/b/scratch");
    expect(line).toMatch(
      /-- setpriv --reuid 65534 --regid 65534 --clear-groups --no-new-privs .* -- python3 -m unittest$/,
    );
  });
});
