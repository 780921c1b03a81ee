import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ENVS } from "../../../../src/pipeline/env-cache/env-files.js";
import { runStages } from "../../../../src/pipeline/run-stages.js";
import { docsStep } from "../../../../src/pipeline/steps/docs/docs.js";
import type { EnvCache, RepoConfig, StepResult } from "../../../../src/pipeline/types.js";
import type { SandboxSettings } from "../../../../src/process/sandbox/resolve-sandbox.js";
import { makeRepo } from "../../../support/git-repo.js";
import { BWRAP, ROOT_USER, SYSTEM_PYTHON } from "../../../support/hostile-build.js";
import { writeWheel } from "../../../support/write-wheel.js";

/**
 * The docs step's virtualenv through the environment cache, as the server
 * runs it: Debian's Sphinx (/usr/bin/python3), a real venv with
 * --system-site-packages, real pip installing a wheel made here (no
 * index), in the bwrap sandbox as each build's own uid.
 */
const UIDS = { first: 940_000, count: 1_000 };
const runs = BWRAP && ROOT_USER && !!SYSTEM_PYTHON;
const python = SYSTEM_PYTHON ?? "python3";
const settings: SandboxSettings = { mode: "bwrap", uids: UIDS, hidden: [] };

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

const DEMO = 'PROJECT = "Demo from a wheel"\n';
/** The wheel conf.py imports, made once: every repository gets the same bytes. */
const WHEELS = mkdtempSync(join(tmpdir(), "pyci-wheels-"));
cleanups.push(() => rmSync(WHEELS, { recursive: true, force: true }));
if (runs) writeWheel(python, WHEELS, { module: "pyci_docs_demo", dist: "pyci-docs-demo", source: DEMO });

/** Names the project after the installed package, after trying to change it. */
const CONF = `import pyci_docs_demo

try:
    with open(pyci_docs_demo.__file__, "w") as f:
        f.write("PROJECT = 'TAMPERED'\\n")
    print("WROTE", pyci_docs_demo.__file__)
except OSError as e:
    print("DENIED", pyci_docs_demo.__file__, type(e).__name__)

project = pyci_docs_demo.PROJECT
`;
const REQUIREMENTS = "--no-index\n--find-links wheels\npyci-docs-demo==0.1\n";

function files(requirements = REQUIREMENTS): Record<string, string> {
  return {
    "docs/conf.py": CONF,
    "docs/index.rst": "Demo\n====\n\nRead the usage.\n",
    "docs/requirements.txt": requirements,
  };
}

function repoConfig(install: string[] = []): RepoConfig {
  return {
    check: { enforceTypeErrors: undefined },
    test: { startDir: ".", pattern: "test*.py" },
    install: [],
    docs: { install, warningsAsErrors: false },
  };
}

function cacheDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "pyci-envcache-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** One merge build's docs step over `files` (plus the wheel in wheels/), in the bwrap sandbox. */
async function build(envCache: EnvCache, options: { files?: Record<string, string>; install?: string[] } = {}) {
  const repo = makeRepo(options.files ?? files());
  cpSync(WHEELS, join(repo.dir, "wheels"), { recursive: true });
  const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
  cleanups.push(
    () => repo.remove(),
    () => rmSync(scratchDir, { recursive: true, force: true }),
  );
  let log = "";
  const [result]: StepResult[] = await runStages([[docsStep]], {
    dir: repo.dir,
    scratchDir,
    repoConfig: repoConfig(options.install),
    python,
    timeoutMs: 180_000,
    sandbox: settings,
    envCache,
    openLog: () => ({ write: (t) => (log += t), close() {} }),
  });
  const key = (verb: string) => new RegExp(`environment ${verb} \\(key ([0-9a-f]{12})\\)`).exec(log)?.[1];
  const extracted = join(scratchDir, "extracted");
  mkdirSync(extracted);
  if (result?.state === "success") execFileSync("tar", ["-xzf", join(scratchDir, "docs-html.tar.gz"), "-C", extracted]);
  const index = result?.state === "success" ? readFileSync(join(extracted, "index.html"), "utf8") : "";
  return { result, log, index, cached: key("cached"), reused: key("reused"), scratchDir };
}

function keptKeys(cache: EnvCache): string[] {
  mkdirSync(join(cache.dir, ENVS), { recursive: true });
  return readdirSync(join(cache.dir, ENVS)).filter((name) => /^[0-9a-f]{64}$/.test(name));
}

describe.skipIf(!runs)("the docs step's virtualenv in the environment cache (bwrap)", () => {
  it("reuses the docs virtualenv of an earlier merge build, which Sphinx's conf.py cannot change", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const first = await build(cache);
    expect(first.result).toMatchObject({ name: "docs", state: "success", summary: "Docs built: 1 page, no warnings" });
    expect(first.cached).toMatch(/^[0-9a-f]{12}$/);
    expect(first.log).toContain(`$ ${python} -m venv --system-site-packages /pyci/docs-venv\n`);
    expect(first.log).toMatch(/Successfully installed pyci-docs-demo-0\.1/);
    expect(first.log).toContain("$ /pyci/docs-venv/bin/python -m sphinx -b html ");
    expect(first.log).toMatch(/DENIED \/pyci\/docs-venv\/\S+__init__\.py OSError/);
    expect(first.index).toContain("Demo from a wheel");

    const second = await build(cache);
    expect(second.result).toMatchObject({ state: "success", summary: "Docs built: 1 page, no warnings" });
    expect(second.reused).toBe(first.cached);
    expect(second.log).not.toContain("-m venv");
    expect(second.log).not.toContain("pip install");
    expect(second.log).toContain("$ /pyci/docs-venv/bin/python -m sphinx -b html ");
    expect(second.log).not.toContain("WROTE");
    expect(second.index).toContain("Demo from a wheel");
    expect(second.index).not.toContain("TAMPERED");

    // the kept copy on the host is pyci's, as pip made it
    const [key] = keptKeys(cache);
    expect(key?.slice(0, 12)).toBe(first.cached);
    const lib = join(cache.dir, ENVS, key!, "venv", "lib");
    const site = join(lib, readdirSync(lib)[0]!, "site-packages");
    expect(readFileSync(join(site, "pyci_docs_demo", "__init__.py"), "utf8")).toBe(DEMO);
    expect(readFileSync(join(cache.dir, ENVS, key!, "venv", "pyvenv.cfg"), "utf8")).toContain(
      "include-system-site-packages = true",
    );
  }, 300_000);

  it("makes a new environment when the docs' requirements change, or when they are docs.install commands", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const base = await build(cache);
    const [changed, command] = await Promise.all([
      build(cache, { files: files(`${REQUIREMENTS}# changed\n`) }),
      build(cache, { install: ["pip install -r docs/requirements.txt"] }),
    ]);
    for (const b of [base, changed, command]) {
      expect(b.result?.state).toBe("success");
      expect(b.reused).toBeUndefined();
      expect(b.cached).toMatch(/^[0-9a-f]{12}$/);
      expect(b.index).toContain("Demo from a wheel");
    }
    expect(new Set([base.cached, changed.cached, command.cached]).size).toBe(3);
    expect(keptKeys(cache)).toHaveLength(3);
  }, 300_000);

  it("says why it does not cache docs.install of the project itself, and a fork's build adds nothing", async () => {
    const cache: EnvCache = { dir: cacheDir(), scope: "https://github.com/o/r.git", fill: true };
    const project = await build(cache, {
      files: { ...files(), "pyproject.toml": '[project]\nname = "x"\nversion = "0"\n' },
      install: ["pip install -r docs/requirements.txt", "pip install --no-build-isolation ."],
    });
    expect(project.log).toContain(
      "pyci: environment not cached: pyci caches only pip installs of requirement files, and it installs the repository itself (.)\n",
    );
    expect(project.log).toContain(
      `$ ${python} -m venv --system-site-packages ${join(project.scratchDir, "docs-venv")}\n`,
    );
    expect(project.result?.state).toBe("success");
    expect(project.index).toContain("Demo from a wheel");

    const fork = await build({ ...cache, fill: false });
    expect(fork.log).toContain(
      "pyci: environment not cached: a build of a fork's pull request uses cached environments, never adds one\n",
    );
    expect(fork.result?.state).toBe("success");
    expect(keptKeys(cache)).toEqual([]);
  }, 300_000);
});
