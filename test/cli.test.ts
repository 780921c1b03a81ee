import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { makeRepo, type TestRepo } from "./support/git-repo.js";

const repos: TestRepo[] = [];
/** Every run's checkouts and logs go to a work dir of this file's own. */
const workDir = mkdtempSync(join(tmpdir(), "pyci-cli-work-"));
const LOGS = join(workDir, `pyci-logs-${process.getuid!()}`);
beforeAll(() => void (process.env.CI_WORK_DIR = workDir));
afterAll(() => {
  delete process.env.CI_WORK_DIR;
  repos.forEach((r) => r.remove());
  rmSync(workDir, { recursive: true, force: true });
});

function capture() {
  const parts: string[] = [];
  return { write: (t: string) => void parts.push(t), text: () => parts.join(""), isTTY: false };
}

const PROJECT = {
  "shapes.py": "def area(w: int, h: int) -> int:\n    return w * h\n",
  "tests/__init__.py": "",
  "tests/test_shapes.py":
    "import unittest\nfrom shapes import area\n\nclass AreaTest(unittest.TestCase):\n    def test_area(self):\n        print('computing area')\n        self.assertEqual(area(2, 3), 6)\n",
};

describe("pyci run", () => {
  it("runs the pipeline on a working tree, uncommitted changes included, and exits 0", async () => {
    const repo = makeRepo(PROJECT);
    repos.push(repo);
    writeFileSync(join(repo.dir, "extra.py"), "VALUE: int = 1\n");
    const out = capture();
    const err = capture();
    const code = await main(["run", repo.dir], out, err);
    expect(err.text()).toBe("");
    expect(code).toBe(0);
    expect(out.text()).toMatch(/✓ check: No problems in 4 files/);
    expect(out.text()).toMatch(/✓ test: 1 test passed/);
    expect(out.text()).toContain("| test | ✅ success |");
    const logDir = /Logs: (.+)\n/.exec(out.text())![1]!;
    expect(dirname(logDir)).toBe(LOGS);
    expect(readdirSync(logDir).sort()).toEqual(["check.log", "checkout.log", "test.log"]);
    expect(readdirSync(workDir).filter((name) => name.startsWith("pyci-build-"))).toEqual([]);
    // nothing was written into the working tree
    expect(existsSync(join(repo.dir, "__pycache__"))).toBe(false);
  });

  it("exits 1 with the failing test in the report when a test fails", async () => {
    const repo = makeRepo({ ...PROJECT, "shapes.py": "def area(w: int, h: int) -> int:\n    return w + h\n" });
    repos.push(repo);
    const out = capture();
    const code = await main(["run", repo.dir], out, capture());
    expect(code).toBe(1);
    expect(out.text()).toMatch(/✗ test: 1 failure in 1 test/);
    expect(out.text()).toContain("tests.test_shapes.AreaTest.test_area");
    expect(out.text()).toContain("(failed) at tests/test_shapes.py:7");
    expect(out.text()).toContain('File "tests/test_shapes.py", line 7, in test_area');
  });

  it("builds a given --ref from a git URL instead of the working tree", async () => {
    const repo = makeRepo({ ...PROJECT, "shapes.py": "def area(w: int, h: int) -> int:\n    return w + h\n" });
    repos.push(repo);
    const broken = repo.sha;
    repo.commit(PROJECT, "fix");
    repo.git("tag", "fixed");
    expect(await main(["run", `file://${repo.dir}`, "--ref", "fixed"], capture(), capture())).toBe(0);
    expect(await main(["run", repo.dir, "--ref", broken], capture(), capture())).toBe(1);
  });

  it("builds the docs with --docs and writes the HTML to --out; a broken build exits 1", async () => {
    const repo = makeRepo({
      ...PROJECT,
      "docs/conf.py": "project = 'shapes'\n",
      "docs/index.rst": "Shapes\n======\n\nAreas.\n",
    });
    repos.push(repo);
    const outDir = join(repo.dir, "html-out");
    const out = capture();
    expect(await main(["run", "--docs", repo.dir, "--out", outDir], out, capture())).toBe(0);
    expect(out.text()).toMatch(/✓ docs: Docs built: 1 page, no warnings/);
    expect(existsSync(join(outDir, "index.html"))).toBe(true);
    const broken = makeRepo({ "docs/conf.py": "project = (\n", "docs/index.rst": "x\n" });
    repos.push(broken);
    const out2 = capture();
    expect(await main(["run", "--docs", broken.dir, "--out", join(outDir, "broken")], out2, capture())).toBe(1);
    expect(out2.text()).toMatch(/✗ docs: Sphinx failed: conf.py has a syntax error/);
    expect(existsSync(join(outDir, "broken"))).toBe(false);
    const err = capture();
    expect(await main(["run", repo.dir, "--out", outDir], capture(), err)).toBe(2);
    expect(err.text()).toContain("--out goes with --docs");
  });

  it("explains bad usage and a missing repository, exiting 2", async () => {
    const err = capture();
    expect(await main(["frobnicate"], capture(), err)).toBe(2);
    expect(err.text()).toContain('unknown command "frobnicate"');
    expect(err.text()).toContain("Usage: pyci run");
    const err2 = capture();
    expect(await main(["run"], capture(), err2)).toBe(2);
    expect(err2.text()).toMatch(/^pyci: run needs the directory of a Python project or a git URL to build\n/);
    const err3 = capture();
    expect(await main(["run", ".", "--ref"], capture(), err3)).toBe(2);
    expect(err3.text()).toMatch(/^pyci: Option '--ref <value>' argument missing/);
  });

  /** What `pyci run` prints on stderr for `args`: one line, and exit status 2. */
  async function oneLineFailure(...args: string[]): Promise<string> {
    const err = capture();
    expect(await main(["run", ...args], capture(), err)).toBe(2);
    const lines = err
      .text()
      .split("\n")
      .filter((line) => line !== "");
    expect(lines, err.text()).toHaveLength(1);
    return lines[0]!;
  }

  it("says in one line why it could not get the code, with git's own words", async () => {
    const repo = makeRepo(PROJECT);
    repos.push(repo);
    const missing = join(workDir, "no-such-project");
    const logsBefore = readdirSync(LOGS).length;
    expect(await oneLineFailure(missing)).toBe(
      `pyci: No such directory: ${missing} (a repository to clone is given as a URL: https://…, ssh://…, git@host:path or file://…)`,
    );
    expect(readdirSync(LOGS), "no logs of a run that never started").toHaveLength(logsBefore);
    expect(await oneLineFailure(join(repo.dir, "shapes.py"))).toBe(
      `pyci: ${join(repo.dir, "shapes.py")} is a file: give the project's directory or a git URL`,
    );
    expect(await oneLineFailure(`file://${missing}`)).toMatch(
      new RegExp(
        `^pyci: could not get the code: Clone failed: file://${missing} is not a git repository \\(or does not exist\\) \\(git: fatal: '${missing}' does not appear to be a git repository\\) \\(log: .+/checkout\\.log\\)$`,
      ),
    );
    const plain = join(workDir, "plain-dir");
    mkdirSync(plain, { recursive: true });
    expect(await oneLineFailure(plain, "--ref", "main")).toMatch(
      `Clone failed: ${plain} is not a git repository (or does not exist) (git: fatal: '${plain}' does not appear to be a git repository)`,
    );
    expect(await oneLineFailure(repo.dir, "--ref", "no-such-branch")).toContain(
      `Clone failed: ${repo.dir} has no branch, tag or commit "no-such-branch" (git: fatal: couldn't find remote ref no-such-branch)`,
    );
    expect(await oneLineFailure(`file://${repo.dir}`, "--ref", "abcdef1")).toContain(
      `Clone failed: file://${repo.dir} has no branch, tag or commit "abcdef1" (log: `,
    );
  });

  it("reports an unknown key of .github/pyci.yml with the nearest valid one", async () => {
    const repo = makeRepo({ ...PROJECT, ".github/pyci.yml": "test:\n  startdir: tests\n" });
    repos.push(repo);
    expect(await oneLineFailure(repo.dir)).toBe(
      "pyci: Invalid .github/pyci.yml: unknown key test.startdir (did you mean test.start_dir?)",
    );
  });

  it("builds a commit given by its short id", async () => {
    const repo = makeRepo({ ...PROJECT, "shapes.py": "def area(w: int, h: int) -> int:\n    return w + h\n" });
    repos.push(repo);
    const broken = repo.sha;
    repo.commit(PROJECT, "fix");
    const out = capture();
    expect(await main(["run", `file://${repo.dir}`, "--ref", broken.slice(0, 7)], out, capture())).toBe(1);
    expect(out.text()).toMatch(/✓ checkout: Checked out [0-9a-f]{7}/);
    expect(out.text()).toMatch(/✗ test: 1 failure in 1 test/);
    expect(await main(["run", repo.dir, "--ref", repo.sha.slice(0, 8)], capture(), capture())).toBe(0);
  });

  it("removes what runs that ended left, keeps the logs of the last ten runs in one folder, and says so", async () => {
    const repo = makeRepo(PROJECT);
    repos.push(repo);
    const dead = spawnSync("true").pid!;
    mkdirSync(join(workDir, "pyci-build-killed", "src"), { recursive: true });
    writeFileSync(join(workDir, "pyci-build-killed", "owner"), `${dead} 1\n`);
    const older = Array.from({ length: 12 }, (_, i) => `20200101-0000${String(i).padStart(2, "0")}.000-1-abc`);
    for (const name of older) mkdirSync(join(LOGS, name), { recursive: true });
    const out = capture();
    const err = capture();
    expect(await main(["run", repo.dir], out, err)).toBe(0);
    expect(err.text()).toBe(`pyci: removed 1 checkout(s) that ended pyci runs left in ${workDir}\n`);
    expect(existsSync(join(workDir, "pyci-build-killed"))).toBe(false);
    const runs = readdirSync(LOGS).sort();
    expect(runs).toHaveLength(10);
    // the oldest went first: what is left of the twelve is their newest
    const keptOlder = runs.filter((name) => older.includes(name));
    expect(keptOlder).toEqual(older.slice(older.length - keptOlder.length));
    expect(join(LOGS, runs.at(-1)!)).toBe(/Logs: (.+)\n/.exec(out.text())![1]);
  });

  it("marks an error apart from a failure, names each --verbose line's step, and points at its logs, not annotations", async () => {
    const lines = Array.from({ length: 35 }, (_, i) => `v${i}: int = "s${i}"`).join("\n");
    const repo = makeRepo({
      ...PROJECT,
      "many.py": `${lines}\n`,
      "tests/test_slow.py":
        "import time\nimport unittest\n\nclass Slow(unittest.TestCase):\n    def test_slow(self):\n        time.sleep(30)\n",
    });
    repos.push(repo);
    const out = capture();
    process.env.CI_STEP_TIMEOUT = "3";
    try {
      expect(await main(["run", repo.dir, "--verbose"], out, capture())).toBe(2);
    } finally {
      delete process.env.CI_STEP_TIMEOUT;
    }
    const text = out.text();
    expect(text).toMatch(/^⚠ test: unittest .*timed out after 3s/m);
    expect(text).toMatch(/^✓ check: /m);
    expect(text).toMatch(/^\[test\] .*computing area$/m);
    expect(text).toMatch(/^\[checkout\] Copied \d+ files/m);
    expect(text).toContain("- …and 5 more (see the logs in ");
    expect(text).not.toContain("annotation");
  });

  it("works as the installed bin (npx pyci)", async () => {
    const repo = makeRepo(PROJECT);
    repos.push(repo);
    const bin = join(process.cwd(), "dist", "cli.js");
    const { stdout } = await promisify(execFile)(bin, ["run", repo.dir], { encoding: "utf8" });
    expect(stdout).toMatch(/✓ test: 1 test passed/);
  });
});
