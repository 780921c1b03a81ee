import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { installStep } from "../../../src/pipeline/steps/install.js";
import { testStep } from "../../../src/pipeline/steps/test.js";
import { PYTHON3, stepContext } from "../../support/step-context.js";
import { writeWheel } from "../../support/write-wheel.js";

/** python3 from PATH, resolved once: the pyenv shim costs a few hundred ms per start. */

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function context(
  files: Record<string, string>,
  options: { install?: string[]; timeoutMs?: number; python?: string } = {},
) {
  const fixture = stepContext(files, {
    repoConfig: { install: options.install ?? [] },
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.python ? { python: options.python } : {}),
  });
  cleanups.push(fixture.remove);
  return { ctx: fixture.ctx, log: fixture.log };
}

/** Writes pyci_demo-0.1-py3-none-any.whl (a pure-Python package) into `dir`. */
function buildWheel(dir: string): void {
  writeWheel(PYTHON3, dir, {
    module: "pyci_demo",
    dist: "pyci-demo",
    source: 'def greet(name):\n    return "hello, " + name\n',
  });
}

const USES_DEMO = {
  "test_demo.py": `import sys
import unittest

import pyci_demo


class DemoTest(unittest.TestCase):
    def test_greet(self):
        print("pyci_demo from", pyci_demo.__file__)
        self.assertEqual(pyci_demo.greet("pyci"), "hello, pyci")
`,
};

// Creating a venv (with ensurepip) takes seconds of mostly waiting: the tests run concurrently.
describe.concurrent("installStep", () => {
  it("applies when there is a requirements.txt or configured install commands", async () => {
    expect(await installStep.applies?.(context({ "requirements.txt": "attrs\n" }).ctx)).toBe(true);
    expect(await installStep.applies?.(context({ "setup.py": "" }, { install: ["make deps"] }).ctx)).toBe(true);
    expect(await installStep.applies?.(context({ "test_x.py": "", "docs/requirements.txt": "sphinx\n" }).ctx)).toBe(
      false,
    );
  });

  it("installs requirements.txt from a wheel directory into a venv that the test step then uses", async () => {
    const { ctx, log } = context({
      ...USES_DEMO,
      "requirements.txt": "--no-index\n--find-links wheels\npyci-demo==0.1\n",
    });
    buildWheel(join(ctx.dir, "wheels"));

    const without = await testStep.run(ctx);
    expect(without.tests?.[0]).toMatchObject({
      id: "test_demo",
      outcome: "error",
      message: "ModuleNotFoundError: No module named 'pyci_demo'",
    });

    const installed = await installStep.run(ctx);
    const venvPython = join(ctx.scratchDir, "venv", "bin", "python");
    expect(installed).toMatchObject({
      name: "install",
      state: "success",
      summary: "Installed requirements.txt into a virtualenv",
      exitCode: 0,
      python: venvPython,
    });
    expect(log()).toContain(`$ ${PYTHON3} -m venv ${join(ctx.scratchDir, "venv")}\n`);
    expect(log()).toContain("$ python -m pip install -r requirements.txt\n");
    expect(log()).toMatch(/Successfully installed pyci-demo-0\.1/);
    expect(readdirSync(ctx.dir).sort()).toEqual([".git", "requirements.txt", "test_demo.py", "wheels"]);

    const tested = await testStep.run({ ...ctx, python: installed.python ?? "" });
    expect(tested).toMatchObject({ state: "success", summary: "1 test passed" });
    expect(log()).toContain(`pyci_demo from ${join(ctx.scratchDir, "venv", "lib")}`);
  });

  it("fails, with pip's exit code, when a requirement cannot be satisfied", async () => {
    const { ctx, log } = context({ "requirements.txt": "--no-index\n--find-links wheels\npyci-demo==9.9\n" });
    buildWheel(join(ctx.dir, "wheels"));
    const result = await installStep.run(ctx);
    expect(result).toMatchObject({
      state: "failure",
      summary:
        "pip install -r requirements.txt failed with exit code 1: No matching distribution found for pyci-demo==9.9",
      exitCode: 1,
    });
    expect(result.advice).toMatch(/^Check that the version exists for this Python .* install: in \.github\/pyci\.yml/);
    expect(result.python).toBeUndefined();
    expect(log()).toMatch(
      /\npyci: pip install -r requirements.txt failed with exit code 1; it said:\n( {2}ERROR: .*\n)* {2}ERROR: No matching distribution found for pyci-demo==9\.9\npyci: Check that/,
    );
  });

  it("runs configured install commands in the activated venv and fails on the first non-zero exit", async () => {
    const { ctx, log } = context(
      { "setup.cfg": "" },
      {
        install: ['echo "venv=$VIRTUAL_ENV"', 'echo "python=$(command -v python)"', "exit 3", "echo never"],
      },
    );
    const result = await installStep.run(ctx);
    const venv = join(ctx.scratchDir, "venv");
    expect(result).toMatchObject({
      state: "failure",
      summary: "Install command failed with exit code 3: exit 3",
      exitCode: 3,
    });
    expect(log()).toContain(`$ echo "venv=$VIRTUAL_ENV"\nvenv=${venv}\n`);
    expect(log()).toContain(`python=${join(venv, "bin", "python")}\n`);
    expect(log()).toContain("$ exit 3\n");
    expect(log()).not.toContain("never");
  });

  it("errors when the virtualenv cannot be created", async () => {
    const missing = await installStep.run(context({ "requirements.txt": "" }, { python: "/nonexistent/python3" }).ctx);
    expect(missing.state).toBe("error");
    expect(missing.summary).toMatch(/^Could not start \/nonexistent\/python3 -m venv: .*ENOENT/);

    const { ctx } = context({ "requirements.txt": "" }, { timeoutMs: 300 });
    const slow = await installStep.run(ctx);
    expect(slow).toMatchObject({ state: "error", summary: `${PYTHON3} -m venv timed out after 0.3s`, exitCode: null });
    expect(existsSync(join(ctx.scratchDir, "venv", "bin", "pip"))).toBe(false);
  });
});
