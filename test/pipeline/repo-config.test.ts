import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  defaultRepoConfig,
  parseRepoConfig,
  readRepoConfigFile,
  RepoConfigError,
} from "../../src/pipeline/repo-config.js";

describe("parseRepoConfig", () => {
  it("gives unittest's defaults for an empty file", () => {
    expect(parseRepoConfig(null)).toEqual({
      check: { enforceTypeErrors: undefined },
      test: { startDir: ".", pattern: "test*.py" },
      install: [],
      docs: { install: [], warningsAsErrors: false },
    });
  });

  it("reads every setting", () => {
    const config = parseRepoConfig({
      check: { enforce_type_errors: true },
      test: { start_dir: "tests", pattern: "*_test.py", top_level_dir: ".", parallel: "auto" },
      install: ["pip install -e ."],
      python: "python3.11",
      docs: { dir: "doc/source", install: "pip install furo", warnings_as_errors: true, branches: ["main", "release"] },
    });
    expect(config).toEqual({
      check: { enforceTypeErrors: true },
      test: { startDir: "tests", pattern: "*_test.py", topLevelDir: ".", parallel: "auto" },
      install: ["pip install -e ."],
      python: "python3.11",
      docs: { dir: "doc/source", install: ["pip install furo"], warningsAsErrors: true, branches: ["main", "release"] },
    });
  });

  it("takes a number of test processes", () => {
    expect(parseRepoConfig({ test: { parallel: 4 } }).test.parallel).toBe(4);
  });

  it("takes the worker labels a build runs on, as a sorted set", () => {
    expect(parseRepoConfig({ runs_on: ["py312", "big", "py312"] }).runsOn).toEqual(["big", "py312"]);
    expect(parseRepoConfig({ runs_on: "gpu" }).runsOn).toEqual(["gpu"]);
    expect(parseRepoConfig({}).runsOn).toBeUndefined();
  });

  it.each([
    [{ runs_on: ["Big"] }, /runs_on must be a label or a list of labels/],
    [{ runs_on: ["py312", "has space"] }, /runs_on must be a label or a list of labels/],
    [{ runs_on: [1] }, /runs_on must be a label or a list of labels/],
    [{ runs_on: "-x" }, /runs_on must be a label or a list of labels/],
    [{ check: { enforce_type_errors: "yes" } }, /enforce_type_errors must be true or false/],
    [{ test: { start_dir: "../outside" } }, /start_dir must be a directory inside the repository/],
    [{ test: { start_dir: "/etc" } }, /start_dir must be a directory inside the repository/],
    [{ test: { parallel: 0 } }, /test.parallel must be auto or a number of processes from 1 to 64/],
    [{ test: { parallel: "all" } }, /test.parallel must be auto or a number of processes from 1 to 64/],
    [{ test: { parallel: 2.5 } }, /test.parallel must be auto or a number of processes from 1 to 64/],
    [{ install: [1] }, /install must be a command/],
    [{ python: "rm -rf /" }, /python must name an interpreter/],
    [{ docs: { dir: "../x" } }, /docs.dir must be a directory inside the repository/],
    [{ docs: { warnings_as_errors: 1 } }, /docs.warnings_as_errors must be true or false/],
    [[1, 2], /the file must be a mapping/],
    [{ env: ["A=1"] }, /env must be a mapping/],
    [{ env: { PATH: "/evil" } }, /env: PATH is set by pyci/],
    [{ env: { HOME: "/root" } }, /env: HOME is set by pyci/],
    [{ env: { TMPDIR: "/" } }, /env: TMPDIR is set by pyci/],
    [{ env: { PYCI_RUN: "x" } }, /env: PYCI_RUN is set by pyci/],
    [{ env: { LD_PRELOAD: "./evil.so" } }, /LD_PRELOAD would steer the dynamic loader/],
    [{ env: { "BAD-NAME": "x" } }, /"BAD-NAME" is not a variable name/],
    [{ env: { SECRET: { from: "vault" } } }, /env.SECRET must be a literal value/],
    [{ tests: { pattern: "t*.py" } }, "unknown key tests (did you mean test?)"],
    [{ test: { startdir: "t" } }, "unknown key test.startdir (did you mean test.start_dir?)"],
    [{ start_dir: "t" }, "unknown key start_dir (did you mean test.start_dir?)"],
    [
      { docs: { warnings_are_errors: true } },
      "unknown key docs.warnings_are_errors (did you mean docs.warnings_as_errors?)",
    ],
    [
      { lint: true, pyhton: "python3" },
      "unknown key lint (the keys are check, test, install, runs_on, python, env, docs); unknown key pyhton (did you mean python?)",
    ],
  ])("rejects %j with a clear message", (raw, message) => {
    expect(() => parseRepoConfig(raw)).toThrow(RepoConfigError);
    expect(() => parseRepoConfig(raw)).toThrow(message);
  });
});

describe("parseRepoConfig env", () => {
  it("takes literal values for the code under test, as strings", () => {
    expect(parseRepoConfig({ env: { DJANGO_SETTINGS_MODULE: "app.test", WORKERS: 2, STRICT: true } }).env).toEqual({
      DJANGO_SETTINGS_MODULE: "app.test",
      WORKERS: "2",
      STRICT: "true",
    });
    expect(parseRepoConfig({}).env).toBeUndefined();
  });
});

describe("readRepoConfigFile", () => {
  it("reads .github/pyci.yml from a working tree, defaults when absent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pyci-cfg-"));
    expect(await readRepoConfigFile(dir)).toEqual(defaultRepoConfig());
    mkdirSync(join(dir, ".github"));
    writeFileSync(join(dir, ".github/pyci.yml"), "test:\n  start_dir: tests\ninstall: pip install -e .\n");
    const config = await readRepoConfigFile(dir);
    expect(config.test.startDir).toBe("tests");
    expect(config.install).toEqual(["pip install -e ."]);
    writeFileSync(join(dir, ".github/pyci.yml"), "test: [unclosed\n");
    await expect(readRepoConfigFile(dir)).rejects.toThrow(/not valid YAML/);
    rmSync(dir, { recursive: true, force: true });
  });
});
