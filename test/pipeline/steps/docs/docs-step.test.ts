import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { docsStep } from "../../../../src/pipeline/steps/docs/docs.js";
import type { RepoConfig } from "../../../../src/pipeline/types.js";
import { PYTHON3, stepContext } from "../../../support/step-context.js";
import { writeWheel } from "../../../support/write-wheel.js";

/**
 * Real Sphinx: Debian's 5.3 for /usr/bin/python3. The step's python is
 * pyenv's python3 (no Sphinx), so the step finds sphinx-build on PATH.
 */

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function context(
  files: Record<string, string>,
  docs: Partial<RepoConfig["docs"]> = {},
  options: { timeoutMs?: number; python?: string; signal?: AbortSignal } = {},
) {
  const fixture = stepContext(files, {
    repoConfig: { docs: { install: [], warningsAsErrors: false, ...docs } },
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.python ? { python: options.python } : {}),
  });
  cleanups.push(fixture.remove);
  if (options.signal) fixture.ctx.signal = options.signal;
  return { ctx: fixture.ctx, repo: fixture.repo, log: fixture.log };
}

const CONF = 'project = "Demo"\n';
const INDEX = `Demo
====

.. toctree::

   usage

Read the usage.
`;
const USAGE = "Usage\n=====\n\nCall it.\n";
const DOCS = { "docs/conf.py": CONF, "docs/index.rst": INDEX, "docs/usage.rst": USAGE };
/** index.rst with a reference to a label that does not exist, on line 10. */
const BROKEN_REF = { ...DOCS, "docs/index.rst": `${INDEX}\nSee :ref:\`nope\`.\n` };

function tarList(archive: string): string[] {
  return execFileSync("tar", ["-tzf", archive], { encoding: "utf8" }).trim().split("\n").sort();
}

/** A directory holding pyci_docs_demo-0.1-py3-none-any.whl, a module that conf.py imports. */
function wheelDir(): string {
  const dir = tempDir("pyci-wheels-");
  writeWheel(PYTHON3, dir, {
    module: "pyci_docs_demo",
    dist: "pyci-docs-demo",
    source: 'PROJECT = "Demo from a wheel"\n',
  });
  return dir;
}

const USES_WHEEL = { ...DOCS, "docs/conf.py": "import pyci_docs_demo\n\nproject = pyci_docs_demo.PROJECT\n" };

// Sphinx runs take about a second, virtualenvs several: the tests run side by side.
describe.concurrent("docsStep", () => {
  it("builds the HTML, counts its pages and packages it with index.html at the top", async () => {
    const { ctx, repo, log } = context(DOCS);
    const result = await docsStep.run(ctx);
    const archive = join(ctx.scratchDir, "docs-html.tar.gz");
    expect(result).toMatchObject({
      name: "docs",
      state: "success",
      summary: "Docs built: 2 pages, no warnings",
      exitCode: 0,
      diagnostics: [],
      counts: { pages: 2, warnings: 0 },
      artifacts: [{ name: "docs-html.tar.gz", path: archive, contentType: "application/gzip" }],
    });
    const entries = tarList(archive);
    expect(entries).toEqual(
      expect.arrayContaining(["index.html", "usage.html", "genindex.html", "search.html", "searchindex.js"]),
    );
    expect(entries.some((e) => e.startsWith("_static/"))).toBe(true);
    expect(entries.filter((e) => e.startsWith("./") || e.startsWith(".buildinfo") || e.includes(".doctrees"))).toEqual(
      [],
    );

    const extracted = tempDir("pyci-extract-");
    execFileSync("tar", ["-xzf", archive, "-C", extracted]);
    expect(readFileSync(join(extracted, "usage.html"), "utf8")).toContain("Call it.");

    expect(log()).toContain("Sphinx docs in docs/\n");
    expect(log()).toContain("(sphinx-build on PATH: /usr/bin/sphinx-build): /usr/bin/python3 -m sphinx\n");
    expect(log()).toContain(
      `$ /usr/bin/python3 -m sphinx -b html -d ${join(ctx.scratchDir, "docs-doctrees")} docs ${join(ctx.scratchDir, "docs-html")}\n`,
    );
    expect(log()).toContain("build succeeded.");
    expect(repo.git("status", "--porcelain", "--ignored")).toBe("");
  });

  it("reports a warning and still succeeds when warnings are not errors", async () => {
    const { ctx } = context(BROKEN_REF);
    const result = await docsStep.run(ctx);
    expect(result).toMatchObject({
      state: "success",
      summary: "Docs built: 2 pages, 1 warning",
      exitCode: 0,
      counts: { pages: 2, warnings: 1 },
    });
    expect(result.diagnostics).toEqual([
      {
        file: "docs/index.rst",
        line: 10,
        column: 1,
        severity: "warning",
        rule: "sphinx",
        message: "undefined label: 'nope'",
        syntax: false,
      },
    ]);
    expect(existsSync(join(ctx.scratchDir, "docs-html.tar.gz"))).toBe(true);
  });

  it("fails on that warning with warnings_as_errors, with no archive", async () => {
    const { ctx, log } = context(BROKEN_REF, { warningsAsErrors: true });
    const result = await docsStep.run(ctx);
    expect(result).toMatchObject({
      state: "failure",
      summary: "Sphinx failed: 1 warning treated as error",
      exitCode: 1,
      counts: { warnings: 1 },
    });
    // the line keeps the severity Sphinx printed (WARNING); -W makes the step fail, not the line an error
    expect(result.diagnostics).toEqual([
      {
        file: "docs/index.rst",
        line: 10,
        column: 1,
        severity: "warning",
        rule: "sphinx",
        message: "undefined label: 'nope'",
        syntax: false,
      },
    ]);
    expect(result.artifacts).toBeUndefined();
    expect(existsSync(join(ctx.scratchDir, "docs-html.tar.gz"))).toBe(false);
    expect(log()).toContain(" -W --keep-going docs ");
    expect(log()).toContain("build finished with problems, 1 warning.");
  });

  it("fails with a clear summary when conf.py has a syntax error", async () => {
    const { ctx } = context({ ...DOCS, "docs/conf.py": 'project = "Demo"\nextensions = [\n' });
    const result = await docsStep.run(ctx);
    expect(result).toMatchObject({
      state: "failure",
      summary: "Sphinx failed: conf.py has a syntax error at line 2: '[' was never closed",
      exitCode: 2,
    });
    expect(result.diagnostics).toEqual([
      {
        file: "docs/conf.py",
        line: 2,
        column: 1,
        severity: "error",
        rule: "sphinx",
        message:
          "Configuration error: There is a syntax error in your configuration file: '[' was never closed (conf.py, line 2)",
        syntax: false,
      },
    ]);
    expect(result.artifacts).toBeUndefined();
  });

  it("fails with the exception when conf.py raises one", async () => {
    const { ctx } = context({ ...DOCS, "docs/conf.py": 'project = "Demo"\n\nimport no_such_theme\n' });
    const result = await docsStep.run(ctx);
    expect(result).toMatchObject({
      state: "failure",
      summary: "Sphinx failed: conf.py has an error: ModuleNotFoundError: No module named 'no_such_theme'",
      exitCode: 2,
    });
    expect(result.diagnostics).toMatchObject([{ file: "docs/conf.py", line: 3, severity: "error" }]);
  });

  it("is skipped, saying so, when the repository has no Sphinx docs", async () => {
    const { ctx, log } = context({ "README.md": "# demo\n", "docs/index.md": "# Docs\n" });
    expect(await docsStep.run(ctx)).toMatchObject({
      name: "docs",
      state: "skipped",
      summary: "No Sphinx docs found",
      exitCode: null,
    });
    expect(log()).toContain("No conf.py in docs/, doc/, docs/source/, doc/source/ or the repository root");
  });

  it("builds docs in docs/source and in a configured directory", async () => {
    const source = context({
      "docs/Makefile": "",
      "docs/source/conf.py": CONF,
      "docs/source/index.rst": INDEX,
      "docs/source/usage.rst": USAGE,
    });
    expect(await docsStep.run(source.ctx)).toMatchObject({
      state: "success",
      summary: "Docs built: 2 pages, no warnings",
    });
    expect(source.log()).toContain("Sphinx docs in docs/source/\n");

    const configured = context(
      { "manual/conf.py": CONF, "manual/index.rst": "Manual\n======\n", "docs/conf.py": "this is not python\n" },
      { dir: "manual" },
    );
    expect(await docsStep.run(configured.ctx)).toMatchObject({
      state: "success",
      summary: "Docs built: 1 page, no warnings",
      counts: { pages: 1, warnings: 0 },
    });
  });

  it("errors when the configured directory has no conf.py", async () => {
    const { ctx } = context(DOCS, { dir: "manual" });
    expect(await docsStep.run(ctx)).toMatchObject({
      state: "error",
      summary: "docs.dir in .github/pyci.yml is manual, but manual/conf.py does not exist",
      exitCode: null,
    });
  });

  it("installs docs/requirements.txt from a wheel directory into a virtualenv on top of the server's Sphinx", async () => {
    const wheels = wheelDir();
    const { ctx, repo, log } = context({
      ...USES_WHEEL,
      "docs/requirements.txt": `--no-index\n--find-links ${wheels}\npyci-docs-demo==0.1\n`,
    });
    const result = await docsStep.run(ctx);
    const venv = join(ctx.scratchDir, "docs-venv");
    expect(result).toMatchObject({ state: "success", summary: "Docs built: 2 pages, no warnings" });
    expect(log()).toContain(`$ /usr/bin/python3 -m venv --system-site-packages ${venv}\n`);
    expect(log()).toContain("$ python -m pip install -r docs/requirements.txt\n");
    expect(log()).toMatch(/Successfully installed pyci-docs-demo-0\.1/);
    expect(log()).toContain(`$ ${join(venv, "bin", "python")} -m sphinx -b html `);
    const extracted = tempDir("pyci-extract-");
    execFileSync("tar", ["-xzf", join(ctx.scratchDir, "docs-html.tar.gz"), "-C", extracted]);
    expect(readFileSync(join(extracted, "index.html"), "utf8")).toContain("Demo from a wheel");
    expect(repo.git("status", "--porcelain", "--ignored")).toBe("");
  });

  it("runs docs.install commands in the activated virtualenv instead, and fails when one fails", async () => {
    const wheels = wheelDir();
    const install = ['echo "venv=$VIRTUAL_ENV"', `pip install --no-index --find-links ${wheels} pyci-docs-demo==0.1`];
    const { ctx, log } = context({ ...USES_WHEEL, "docs/requirements.txt": "no-such-package-anywhere\n" }, { install });
    const result = await docsStep.run(ctx);
    expect(result).toMatchObject({ state: "success", summary: "Docs built: 2 pages, no warnings" });
    expect(log()).toContain(`$ echo "venv=$VIRTUAL_ENV"\nvenv=${join(ctx.scratchDir, "docs-venv")}\n`);
    expect(log()).toContain(`$ ${install[1]}\n`);
    expect(log()).not.toContain("requirements.txt");

    const failing = context(DOCS, { install: ["exit 3", "echo never"] });
    expect(await docsStep.run(failing.ctx)).toMatchObject({
      state: "failure",
      summary: "Docs install command failed with exit code 3: exit 3",
      exitCode: 3,
    });
    expect(failing.log()).not.toContain("never");
  });

  it("says why docs/requirements.txt could not be installed, in pip's words, and what to do", async () => {
    const { ctx, log } = context({ ...DOCS, "docs/requirements.txt": "--no-index\nfuro>=2025.07.19\n" });
    const result = await docsStep.run(ctx);
    expect(result.state).toBe("failure");
    expect(result.summary).toBe(
      "pip install -r docs/requirements.txt failed with exit code 1: No matching distribution found for furo>=2025.07.19",
    );
    expect(result.advice).toMatch(/^Check that .* docs\.install in \.github\/pyci\.yml .*--find-links wheels/);
    expect(log()).toMatch(
      /pyci: pip install -r docs\/requirements\.txt failed with exit code 1; it said:\n {2}ERROR: Could not find a version that satisfies the requirement furo>=2025\.07\.19 \(from versions: none\)\n {2}ERROR: No matching distribution found for furo>=2025\.07\.19\npyci: Check that/,
    );
  });

  it("layers the docs virtualenv on a virtualenv python that has Sphinx", async () => {
    // The step's python: a venv of pyenv's CPython that sees Debian's Sphinx through a .pth file.
    const projectVenv = join(tempDir("pyci-venv-"), "venv");
    execFileSync(PYTHON3, ["-m", "venv", "--without-pip", projectVenv]);
    const sitePackages = join(projectVenv, "lib", "python3.11", "site-packages");
    writeFileSync(join(sitePackages, "debian.pth"), "/usr/lib/python3/dist-packages\n");
    const wheels = wheelDir();
    const { ctx, log } = context(
      { ...USES_WHEEL, "docs/requirements.txt": `--no-index\n--find-links ${wheels}\npyci-docs-demo==0.1\n` },
      {},
      { python: join(projectVenv, "bin", "python") },
    );
    const result = await docsStep.run(ctx);
    expect(result).toMatchObject({ state: "success", summary: "Docs built: 2 pages, no warnings" });
    expect(log()).toContain(`(${join(projectVenv, "bin", "python")} imports sphinx)`);
    expect(log()).toContain(`Added ${sitePackages} to the docs virtualenv (pyci-sphinx-base.pth)\n`);
  });

  it("errors when Sphinx runs out of time or is cancelled", async () => {
    const sleepy = { ...DOCS, "docs/conf.py": 'import time\n\ntime.sleep(60)\nproject = "Demo"\n' };
    const slow = context(sleepy, {}, { timeoutMs: 3_000 });
    expect(await docsStep.run(slow.ctx)).toMatchObject({ state: "error", summary: "Sphinx timed out after 3s" });

    const controller = new AbortController();
    const cancelled = context(sleepy, {}, { signal: controller.signal });
    setTimeout(() => controller.abort(), 1_500);
    expect(await docsStep.run(cancelled.ctx)).toMatchObject({ state: "error", summary: "cancelled" });
  });
});
