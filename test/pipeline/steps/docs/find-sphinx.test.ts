import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { findSphinx } from "../../../../src/pipeline/steps/docs/find-sphinx.js";

/** python3 from PATH: pyenv's CPython, without Sphinx. Debian's Sphinx is /usr/bin/sphinx-build for /usr/bin/python3. */
const PYTHON3 = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
const SPHINX_VERSION = execFileSync("/usr/bin/python3", ["-c", "import sphinx; print(sphinx.__version__)"], {
  encoding: "utf8",
}).trim();

const cleanups: (() => void)[] = [];
afterAll(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function options(python: string, searchPath?: string) {
  const parts: string[] = [];
  return {
    options: {
      python,
      sandbox: { kind: "off" as const, hidden: [], readable: [], writable: [] },
      scratchDir: tempDir("pyci-scratch-"),
      timeoutMs: 30_000,
      log: { write: (text: string) => parts.push(text) },
      ...(searchPath === undefined ? {} : { searchPath }),
    },
    log: () => parts.join(""),
  };
}

describe.concurrent("findSphinx", () => {
  it("uses the step's python when it imports sphinx", async () => {
    const { options: o, log } = options("/usr/bin/python3");
    expect(await findSphinx(o)).toEqual({
      found: true,
      sphinx: {
        python: "/usr/bin/python3",
        version: SPHINX_VERSION,
        via: "/usr/bin/python3 imports sphinx",
        inVirtualenv: false,
        sitePackages: expect.arrayContaining(["/usr/lib/python3/dist-packages"]) as unknown as string[],
        prefixes: ["/usr"],
      },
    });
    expect(log()).toBe(`Sphinx ${SPHINX_VERSION} (/usr/bin/python3 imports sphinx): /usr/bin/python3 -m sphinx\n`);
  });

  it("otherwise uses sphinx-build on PATH, through the interpreter of its #! line", async () => {
    const { options: o } = options(PYTHON3, "/nonexistent:/usr/bin");
    const lookup = await findSphinx(o);
    expect(lookup).toMatchObject({
      found: true,
      sphinx: { python: "/usr/bin/python3", via: "sphinx-build on PATH: /usr/bin/sphinx-build", inVirtualenv: false },
    });

    // #!/usr/bin/env python3 names the interpreter by PATH.
    const bin = tempDir("pyci-bin-");
    writeFileSync(join(bin, "python3"), '#!/bin/sh\nexec /usr/bin/python3 "$@"\n');
    writeFileSync(join(bin, "sphinx-build"), "#!/usr/bin/env python3\nfrom sphinx.cmd.build import main\nmain()\n");
    chmodSync(join(bin, "python3"), 0o755);
    chmodSync(join(bin, "sphinx-build"), 0o755);
    const { options: viaEnv } = options(PYTHON3, bin);
    expect(await findSphinx({ ...viaEnv, searchPath: bin })).toMatchObject({
      found: true,
      sphinx: { python: "/usr/bin/python3", via: `sphinx-build on PATH: ${join(bin, "sphinx-build")}` },
    });
  });

  it("reports that a virtualenv's python is one, with its site-packages", async () => {
    const venv = join(tempDir("pyci-venv-"), "venv");
    execFileSync("/usr/bin/python3", ["-m", "venv", "--without-pip", "--system-site-packages", venv]);
    const { options: o } = options(join(venv, "bin", "python"));
    const lookup = await findSphinx(o);
    expect(lookup).toMatchObject({ found: true, sphinx: { python: join(venv, "bin", "python"), inVirtualenv: true } });
    expect(lookup.found && lookup.sphinx.sitePackages).toContain(join(venv, "lib", "python3.11", "site-packages"));
  });

  it("says what it tried when there is no Sphinx", async () => {
    const empty = tempDir("pyci-bin-");
    const { options: o, log } = options(PYTHON3, empty);
    const problem = `Sphinx is not installed on the server (${PYTHON3} cannot import sphinx; no sphinx-build on PATH): install python3-sphinx or pip install sphinx`;
    expect(await findSphinx(o)).toEqual({ found: false, problem });
    expect(log()).toBe(`${problem}\n`);

    const bin = tempDir("pyci-bin-");
    writeFileSync(join(bin, "sphinx-build"), `#!${PYTHON3}\nimport sphinx\n`);
    chmodSync(join(bin, "sphinx-build"), 0o755);
    const { options: wrong } = options("/nonexistent/python3", bin);
    const lookup = await findSphinx(wrong);
    expect(lookup.found).toBe(false);
    expect(!lookup.found && lookup.problem).toMatch(
      new RegExp(
        `^Sphinx is not installed on the server \\(/nonexistent/python3 could not be started \\(.*ENOENT.*\\); ${join(bin, "sphinx-build")} runs ${PYTHON3}, which cannot import sphinx\\)`,
      ),
    );
  });
});
