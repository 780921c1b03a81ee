import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { pythonEnvironment } from "../../src/pipeline/python-environment.js";
import { sandboxEnv } from "../../src/process/sandbox/sandbox-env.js";

const root = mkdtempSync(join(tmpdir(), "pyci-pyenv-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A virtualenv and, beside it, an interpreter command that counts its starts, then runs the venv's python. */
function countedVenv(dir: string): { python: string; starts: () => number; sitePackages: string } {
  execFileSync("python3", ["-m", "venv", "--without-pip", join(dir, "venv")]);
  const lib = join(dir, "venv", "lib");
  const sitePackages = join(lib, readdirSync(lib)[0]!, "site-packages");
  const counter = join(dir, "starts");
  writeFileSync(counter, "");
  const python = join(dir, "python");
  writeFileSync(python, `#!/bin/sh\necho x >> ${counter}\nexec ${join(dir, "venv", "bin", "python")} "$@"\n`);
  chmodSync(python, 0o755);
  return { python, sitePackages, starts: () => readFileSync(counter, "utf8").split("\n").filter(Boolean).length };
}

function install(sitePackages: string, name: string, version: string): void {
  const info = join(sitePackages, `${name}-${version}.dist-info`);
  mkdirSync(info);
  writeFileSync(join(info, "METADATA"), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
}

describe("pythonEnvironment", () => {
  const build = {
    dir: join(root, "build", "src"),
    scratchDir: join(root, "build", "scratch"),
    sandbox: { kind: "off" as const, hidden: [], readable: [], writable: [] },
  };
  mkdirSync(build.dir, { recursive: true });
  mkdirSync(build.scratchDir, { recursive: true });
  const options = { cwd: build.dir, env: sandboxEnv(build.scratchDir), timeoutMs: 30_000 };

  it("asks the server's interpreter once, and again when a distribution is installed, upgraded or removed", async () => {
    const venv = countedVenv(mkdtempSync(join(root, "server-")));
    const first = await pythonEnvironment(venv.python, options, build);
    expect(first?.version).toMatch(/^3\./);
    expect(first?.distributions).toEqual([]);
    expect(await pythonEnvironment(venv.python, options, build)).toEqual(first);
    expect(venv.starts()).toBe(1);

    install(venv.sitePackages, "calcpkg", "1.0");
    expect((await pythonEnvironment(venv.python, options, build))?.distributions).toEqual(["calcpkg==1.0"]);
    expect(venv.starts()).toBe(2);
    rmSync(join(venv.sitePackages, "calcpkg-1.0.dist-info"), { recursive: true });
    install(venv.sitePackages, "calcpkg", "2.0");
    expect((await pythonEnvironment(venv.python, options, build))?.distributions).toEqual(["calcpkg==2.0"]);
    expect(await pythonEnvironment(venv.python, options, build)).toEqual({ ...first, distributions: ["calcpkg==2.0"] });
    expect(venv.starts()).toBe(3);
  });

  it("asks a build's own interpreter (its virtualenv, in the scratch dir) every time", async () => {
    const venv = countedVenv(mkdtempSync(join(build.scratchDir, "venv-")));
    await pythonEnvironment(venv.python, options, build);
    await pythonEnvironment(venv.python, options, build);
    expect(venv.starts()).toBe(2);
  });
});
