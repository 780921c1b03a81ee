import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { existingCheckout, freshClone, workingTreeCopy, type CodeSource } from "../../src/checkout/code-source.js";
import { PR_PIPELINE } from "../../src/pipeline/pr-pipeline.js";
import { defaultRepoConfig, readRepoConfigFile } from "../../src/pipeline/repo-config.js";
import { resultNames, runPipeline } from "../../src/pipeline/run-pipeline.js";
import type { RepoConfig, StepResult } from "../../src/pipeline/types.js";
import { makeRepo } from "../support/git-repo.js";

/**
 * The checkout is the pipeline's first step, from whichever source the
 * caller hands it: the server's fresh clone, the Actions job's checkout,
 * `pyci run`'s copy of a working tree. The steps after it run on what it
 * brought, with the config read once the code is there.
 */
const workRoot = mkdtempSync(join(tmpdir(), "pyci-run-pipeline-"));
afterAll(() => rmSync(workRoot, { recursive: true, force: true }));

const PASSING = {
  "tests/__init__.py": "",
  "tests/test_one.py":
    "import unittest\n\nclass T(unittest.TestCase):\n    def test_one(self):\n        self.assertTrue(True)\n",
};

async function run(source: CodeSource, repoConfig: (dir: string) => Promise<RepoConfig> = readRepoConfigFile) {
  const workspace = await source.workspace(workRoot);
  const logs = new Map<string, string>();
  const ended: string[] = [];
  try {
    const results = await runPipeline(PR_PIPELINE, {
      source,
      workspace,
      repoConfig,
      python: "python3",
      timeoutMs: 120_000,
      openLog: (step) => ({ write: (t) => logs.set(step, (logs.get(step) ?? "") + t), close() {} }),
      onStepEnd: (result) => ended.push(result.name),
    });
    return { results, logs, ended, dir: workspace.dir };
  } finally {
    await workspace.remove();
  }
}

const byName = (results: StepResult[], name: string) => results.find((r) => r.name === name);

describe("runPipeline", () => {
  it("checks out a fresh clone of the exact commit first, then runs the steps on it", async () => {
    const repo = makeRepo(PASSING);
    const { results, ended } = await run(freshClone({ source: { protocol: "local", url: repo.dir }, sha: repo.sha }));
    expect(results[0]).toMatchObject({
      name: "checkout",
      state: "success",
      summary: `Checked out ${repo.sha.slice(0, 7)}`,
    });
    expect(byName(results, "test")).toMatchObject({ state: "success", summary: "1 test passed" });
    // every result is told as it ends, the checkout first
    expect(ended[0]).toBe("checkout");
    expect(ended.sort()).toEqual(results.map((r) => r.name).sort());
    repo.remove();
  }, 120_000);

  it("builds a working tree as it is, uncommitted changes included, without writing into it", async () => {
    const repo = makeRepo(PASSING);
    writeFileSync(join(repo.dir, "tests/test_one.py"), PASSING["tests/test_one.py"].replace("True)", "False)"));
    const { results, logs } = await run(workingTreeCopy(repo.dir));
    expect(results[0]).toMatchObject({ name: "checkout", state: "success", summary: "Working tree copied" });
    expect(logs.get("checkout")).toMatch(/^Copied \d+ files of the working tree/);
    expect(byName(results, "test")).toMatchObject({ state: "failure" });
    expect(repo.git("status", "--porcelain")).toBe("M tests/test_one.py");
    repo.remove();
  }, 120_000);

  it("brings an existing checkout to the build's commit and leaves it in place", async () => {
    const origin = makeRepo(PASSING);
    const first = origin.sha;
    const second = origin.commit({ "b.py": "y = 2\n" });
    const job = makeRepo({}, { dir: join(workRoot, "job") });
    job.git("fetch", "-q", origin.dir, "main");
    job.git("checkout", "-q", "--detach", first);
    const { results, dir } = await run(existingCheckout(job.dir, second));
    expect(dir).toBe(job.dir);
    expect(results[0]).toMatchObject({ state: "success", summary: `Checked out ${second.slice(0, 7)}` });
    expect(existsSync(join(job.dir, "b.py"))).toBe(true);
    expect(readFileSync(join(job.dir, "tests/test_one.py"), "utf8")).toContain("assertTrue");
    origin.remove();
    job.remove();
  }, 120_000);

  it("ends with the checkout when the code cannot be had: nothing else runs and nothing is read", async () => {
    let asked = false;
    const { results, logs } = await run(
      freshClone({ source: { protocol: "local", url: join(workRoot, "nowhere") }, sha: "a".repeat(40) }),
      async () => {
        asked = true;
        return defaultRepoConfig();
      },
    );
    expect(results).toEqual([
      expect.objectContaining({ name: "checkout", state: "error", summary: expect.stringMatching(/^Clone failed: /) }),
    ]);
    expect(logs.get("checkout")).toContain("Could not fetch aaaaaaa");
    expect(asked).toBe(false);
  });

  it("ends with the config when it cannot be read, saying why; no step runs", async () => {
    const repo = makeRepo({ ...PASSING, ".github/pyci.yml": "python: [1, 2\n" });
    const { results } = await run(freshClone({ source: { protocol: "local", url: repo.dir }, sha: repo.sha }));
    expect(results.map((r) => [r.name, r.state])).toEqual([
      ["checkout", "success"],
      ["config", "error"],
    ]);
    expect(results[1]!.summary).toMatch(/pyci\.yml/);
    repo.remove();
  });

  it("names its results in the order they come", () => {
    expect(resultNames(PR_PIPELINE)).toEqual(["checkout", "config", "install", "check", "test"]);
  });
});
