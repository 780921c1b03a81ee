import { randomBytes } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ENVS } from "../../../src/pipeline/env-cache/env-files.js";
import { evictCaches } from "../../../src/pipeline/evict-caches.js";
import { runStages } from "../../../src/pipeline/run-stages.js";
import { installStep } from "../../../src/pipeline/steps/install.js";
import { testStep } from "../../../src/pipeline/steps/test.js";
import type { EnvCache, RepoConfig, StepResult } from "../../../src/pipeline/types.js";
import type { SandboxSettings } from "../../../src/process/sandbox/resolve-sandbox.js";
import { makeRepo } from "../../support/git-repo.js";
import { BWRAP, ROOT_USER, SYSTEM_PYTHON } from "../../support/hostile-build.js";
import { writeWheel } from "../../support/write-wheel.js";

/**
 * The environment cache, as the server runs it: real venvs, real pip
 * installing a wheel made here (no index), in the bwrap sandbox as each
 * build's own uid.
 */
const UIDS = { first: 930_000, count: 1_000 };
const runs = BWRAP && ROOT_USER && !!SYSTEM_PYTHON;
const python = SYSTEM_PYTHON ?? "python3";
const settings: SandboxSettings = { mode: "bwrap", uids: UIDS, hidden: [] };

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const GREET = 'def greet(name):\n    return "hello, " + name\n';
/** The demo wheel, made once: every repository gets the same bytes (a zip records when it was made). */
const WHEELS = mkdtempSync(join(tmpdir(), "pyci-wheels-"));
cleanups.push(() => rmSync(WHEELS, { recursive: true, force: true }));
if (runs) writeWheel(python, WHEELS, { module: "pyci_demo", dist: "pyci-demo", source: GREET });

/** Tries to change the installed package (and add a file beside it), then checks that it is the one installed. */
const TEST_DEMO = `import os
import unittest

import pyci_demo


class DemoTest(unittest.TestCase):
    def test_greet_and_tamper(self):
        self.assertEqual(pyci_demo.greet("pyci"), "hello, pyci")
        print("PRISTINE", open(pyci_demo.__file__).read() == ${JSON.stringify(GREET)})
        print("INSTALLED-AT", pyci_demo.__file__)
        for path in (pyci_demo.__file__, os.path.join(os.path.dirname(pyci_demo.__file__), "planted.py")):
            try:
                with open(path, "w") as f:
                    f.write("def greet(name):\\n    return 'TAMPERED'\\n")
                print("WROTE", path)
            except OSError as e:
                print("DENIED", path, type(e).__name__)
`;

function files(requirements = "--no-index\n--find-links wheels\npyci-demo==0.1\n"): Record<string, string> {
  return { "requirements.txt": requirements, "test_demo.py": TEST_DEMO };
}

function repoConfig(install: string[] = []): RepoConfig {
  return {
    check: { enforceTypeErrors: undefined },
    test: { startDir: ".", pattern: "test*.py" },
    install,
    docs: { install: [], warningsAsErrors: false },
  };
}

function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pyci-envcache-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One build of `files` (plus the demo wheel in wheels/) through install and test, in the bwrap sandbox. */
async function build(
  envCache: EnvCache | undefined,
  options: { files?: Record<string, string>; install?: string[]; python?: string } = {},
) {
  const repo = makeRepo(options.files ?? files());
  cpSync(WHEELS, join(repo.dir, "wheels"), { recursive: true });
  const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
  cleanups.push(
    () => repo.remove(),
    () => rmSync(scratchDir, { recursive: true, force: true }),
  );
  const logs: Record<string, string> = {};
  const results: StepResult[] = await runStages([[installStep], [testStep]], {
    dir: repo.dir,
    scratchDir,
    repoConfig: repoConfig(options.install),
    python: options.python ?? python,
    timeoutMs: 180_000,
    sandbox: settings,
    ...(envCache ? { envCache } : {}),
    openLog: (step) => ({ write: (t) => (logs[step] = (logs[step] ?? "") + t), close() {} }),
  });
  const install = logs.install ?? "";
  const test = logs.test ?? "";
  const key = (verb: string) => new RegExp(`environment ${verb} \\(key ([0-9a-f]{12})\\)`).exec(install)?.[1];
  return { results, install, test, cached: key("cached"), reused: key("reused"), scratchDir };
}

function states(results: StepResult[]): [string, string][] {
  return results.map((r) => [r.name, r.state]);
}

describe.skipIf(!runs)("the environment cache (bwrap, each build its own uid)", () => {
  it("reuses a build's virtualenv, which no build's code can change, and lets eviction remove it once unused", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const first = await build(cache);
    expect(states(first.results)).toEqual([
      ["install", "success"],
      ["test", "success"],
    ]);
    expect(first.cached).toMatch(/^[0-9a-f]{12}$/);
    expect(first.reused).toBeUndefined();
    expect(first.test).toContain("INSTALLED-AT /pyci/venv/");
    expect(first.test).not.toContain("WROTE");
    expect(first.test).toMatch(/DENIED \S+__init__\.py OSError/);

    const second = await build(cache);
    expect(states(second.results)).toEqual([
      ["install", "success"],
      ["test", "success"],
    ]);
    expect(second.reused).toBe(first.cached);
    // the results that are stored and shown name no path of the data dir
    expect(JSON.stringify([first.results, second.results])).not.toContain(cache.dir);
    expect(second.install).not.toContain("-m venv");
    expect(second.test).toContain("PRISTINE True");
    expect(second.test).not.toContain("WROTE");

    // the kept copy on the host is pyci's, untouched
    const envs = join(cache.dir, ENVS);
    const [key] = readdirSync(envs).filter((name) => /^[0-9a-f]{64}$/.test(name));
    expect(key?.slice(0, 12)).toBe(first.cached);
    const site = join(envs, key!, "venv", "lib");
    const pyDir = readdirSync(site)[0]!;
    expect(readFileSync(join(site, pyDir, "site-packages", "pyci_demo", "__init__.py"), "utf8")).toBe(GREET);
    expect(readdirSync(join(site, pyDir, "site-packages", "pyci_demo"))).not.toContain("planted.py");

    // in use by a build whose scratch dir exists: kept; once that is gone: evicted
    await evictCaches({ dir: cache.dir, maxBytes: 0 });
    expect(readdirSync(envs)).toContain(key);
    rmSync(first.scratchDir, { recursive: true, force: true });
    rmSync(second.scratchDir, { recursive: true, force: true });
    const evicted = await evictCaches({ dir: cache.dir, maxBytes: 0 });
    expect(evicted.evicted).toContain(join(envs, key!));
    expect(readdirSync(envs)).not.toContain(key);
  }, 300_000);

  it("never reuses across a changed requirement file, interpreter or install command", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const base = await build(cache);
    expect(base.cached).toBeDefined();
    const [requirement, interpreter, command] = await Promise.all([
      build(cache, { files: files("--no-index\n--find-links wheels\npyci-demo==0.1\n# changed\n") }),
      build(cache, { python: "/usr/bin/python3.11" }),
      build(cache, { install: ["python -m pip install -r requirements.txt"] }),
    ]);
    const keys = [base, requirement, interpreter, command].map((b) => b.cached);
    for (const b of [requirement, interpreter, command]) {
      expect(states(b.results)).toEqual([
        ["install", "success"],
        ["test", "success"],
      ]);
      expect(b.reused).toBeUndefined();
    }
    expect(new Set(keys).size).toBe(4);
    expect(keys.every((key) => key !== undefined)).toBe(true);
  }, 300_000);

  it("makes an environment once for two builds of the same key at once; a fork's build uses it but adds none", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const fork = { ...cache, fill: false };
    const notYet = await build(fork);
    expect(states(notYet.results)).toEqual([
      ["install", "success"],
      ["test", "success"],
    ]);
    expect(notYet.install).toContain("environment not cached: a build of a fork's pull request");
    expect(readdirSync(join(cache.dir, ENVS)).filter((name) => !name.startsWith("."))).toEqual([]);

    const both = await Promise.all([build(cache), build(cache)]);
    const made = both.filter((b) => b.cached !== undefined);
    const reused = both.filter((b) => b.reused !== undefined);
    expect(made).toHaveLength(1);
    expect(reused).toHaveLength(1);
    expect(reused[0]!.reused).toBe(made[0]!.cached);

    const forkAgain = await build(fork);
    expect(forkAgain.reused).toBe(made[0]!.cached);
  }, 300_000);

  it("runs the repository's code that an install runs (a local package's setup.py) where it finds no secret and no other build's files", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const decoy = (what: string) => `${what}-decoy-${randomBytes(12).toString("hex")}`;
    const decoys = { db: decoy("db"), other: decoy("checkout"), env: decoy("env") };
    // what a data dir and another build's checkout hold, readable by anyone on the host
    writeFileSync(join(cache.dir, "pyci.db"), decoys.db);
    const other = makeRepo({ "secret.txt": decoys.other });
    cleanups.push(() => other.remove());
    process.env.PYCI_HUNT_DECOY = decoys.env;
    cleanups.push(() => delete process.env.PYCI_HUNT_DECOY);
    const paths = [join(cache.dir, "pyci.db"), cache.dir, join(other.dir, "secret.txt"), other.dir, "/proc/1/environ"];
    const setupPy = `import json, os
from setuptools import setup

found = {"env": dict(os.environ), "read": {}}
for path in ${JSON.stringify(paths)}:
    try:
        if os.path.isdir(path):
            found["read"][path] = "LISTED " + " ".join(os.listdir(path))
        else:
            with open(path, "rb") as f:
                found["read"][path] = "READ " + f.read().decode("utf-8", "replace")
    except OSError as e:
        found["read"][path] = "DENIED " + type(e).__name__
os.makedirs("hunter", exist_ok=True)
with open(os.path.join("hunter", "__init__.py"), "w") as f:
    f.write("FOUND = " + repr(json.dumps(found)) + "\\n")
setup(name="hunter", version="0.1", packages=["hunter"])
`;
    const hunted = await build(cache, {
      files: {
        "hunter/setup.py": setupPy,
        "test_found.py":
          "import unittest\nimport hunter\n\n\nclass Found(unittest.TestCase):\n    def test_found(self):\n        print('FOUND ' + hunter.FOUND)\n",
      },
      install: ["pip install --no-index --no-build-isolation ./hunter"],
    });
    expect(states(hunted.results)).toEqual([
      ["install", "success"],
      ["test", "success"],
    ]);
    expect(hunted.cached).toMatch(/^[0-9a-f]{12}$/);
    // what setup.py found, as it ran while the environment was made, read back by the tests
    const found = JSON.parse(/FOUND (.*)/.exec(hunted.test)![1]!) as {
      env: Record<string, string>;
      read: Record<string, string>;
    };
    for (const path of paths) expect(found.read[path], path).toMatch(/^DENIED /);
    expect(JSON.stringify(found.env)).not.toContain(decoys.env);
    // and nowhere: not in the logs, nor in the environment kept on the host
    const envs = join(cache.dir, ENVS);
    const module = (readdirSync(envs, { recursive: true }) as string[]).find((f) => f.endsWith("hunter/__init__.py"));
    const kept = readFileSync(join(envs, module!), "utf8");
    expect(kept).toContain("DENIED");
    for (const value of Object.values(decoys)) {
      expect(hunted.install + hunted.test + kept).not.toContain(value);
    }
  }, 300_000);

  it("says why it does not cache an install of the repository itself, and installs it as before", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const b = await build(cache, {
      files: {
        ...files(),
        "pyproject.toml": '[project]\nname = "x"\nversion = "0"\n',
      },
      install: ["pip install --no-index --find-links wheels pyci-demo==0.1", "pip install -e . --no-build-isolation"],
    });
    expect(b.install).toContain(
      "environment not cached: pyci caches only pip installs of requirement files, and an editable install (-e) points at one build's checkout",
    );
    expect(b.test).not.toContain("INSTALLED-AT /pyci/");
    mkdirSync(join(cache.dir, ENVS), { recursive: true });
    expect(readdirSync(join(cache.dir, ENVS)).filter((name) => !name.startsWith("."))).toEqual([]);
  }, 300_000);
});
