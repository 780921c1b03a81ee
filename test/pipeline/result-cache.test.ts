import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { evictCaches } from "../../src/pipeline/evict-caches.js";
import { RESULTS, writeCachedResult } from "../../src/pipeline/result-cache.js";
import { reuseResult } from "../../src/pipeline/reuse-result.js";
import { checkStep } from "../../src/pipeline/steps/check.js";
import { docsStep } from "../../src/pipeline/steps/docs/docs.js";
import type { RepoConfig, StepCache, StepContext, StepResult } from "../../src/pipeline/types.js";
import { makeRepo } from "../support/git-repo.js";

const root = mkdtempSync(join(tmpdir(), "pyci-result-cache-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
/** The interpreter behind `python3` (a pyenv shim here), as the check step tests use it. */
const PYTHON = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();

const CONFIG: RepoConfig = {
  check: { enforceTypeErrors: undefined },
  test: { startDir: ".", pattern: "test*.py" },
  install: [],
  docs: { install: [], warningsAsErrors: false },
};

function context(dir: string, cache: StepCache | undefined, extra: Partial<StepContext> = {}) {
  const parts: string[] = [];
  const ctx: StepContext = {
    dir,
    repoConfig: CONFIG,
    python: PYTHON,
    scratchDir: mkdtempSync(join(root, "scratch-")),
    timeoutMs: 120_000,
    sandbox: { kind: "off" as const, hidden: [], readable: [], writable: [] },
    log: { write: (text) => parts.push(text) },
    ...(cache ? { cache } : {}),
    ...extra,
  };
  return { ctx, log: () => parts.join("") };
}

function cacheFor(dataDir: string, dir: string, buildId: string): StepCache {
  return {
    dir: dataDir,
    tree: execFileSync("git", ["rev-parse", "HEAD^{tree}"], { cwd: dir, encoding: "utf8" }).trim(),
    scope: "https://github.com/acme/widgets.git",
    buildId,
  };
}

function withoutDuration(result: StepResult): Omit<StepResult, "durationMs"> {
  const { durationMs: _, ...rest } = result;
  return rest;
}

const CLEAN = { "calc/__init__.py": "", "calc/ops.py": "def add(a: int, b: int) -> int:\n    return a + b\n" };
const TYPE_ERROR = "def half(n: int) -> str:\n    return n // 2\n";

describe("the check step and the result cache", () => {
  it("reuses the result of the same tree, saying from which build, with the same diagnostics", async () => {
    const repo = makeRepo({ ...CLEAN, "calc/bad.py": TYPE_ERROR });
    const data = mkdtempSync(join(root, "data-"));
    const first = context(repo.dir, cacheFor(data, repo.dir, "build-one"));
    const one = await checkStep.run(first.ctx);
    expect(one).toMatchObject({ state: "success", summary: "1 type error not enforced" });
    expect(first.log()).not.toContain("cached result");

    // the same tree in another build: its files are not even read (here they changed behind git's back)
    writeFileSync(join(repo.dir, "calc", "worse.py"), "x: int = 'no'\n");
    const second = context(repo.dir, cacheFor(data, repo.dir, "build-two"));
    const two = await checkStep.run(second.ctx);
    const { reused, ...result } = withoutDuration(two);
    expect(result).toEqual(withoutDuration(one));
    expect(one.reused).toBeUndefined();
    expect(reused).toEqual({ buildId: "build-one", createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(second.log()).toMatch(
      /^\[pyci: cached result from build build-one of \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d+Z: same tree, pyright \d+\.\d+\.\d+, configuration and Python packages\]\n/,
    );
    expect(second.log()).toContain('calc/bad.py:2:12 - error: Type "int" is not assignable to return type "str"');
    expect(second.log()).toContain("[pyci: end of the cached output]");

    // without the cache, the step sees the file
    const plain = await checkStep.run(context(repo.dir, undefined).ctx);
    expect(plain.summary).toBe("2 type errors not enforced");
    repo.remove();
  });

  it("runs again when the tree, the configuration or the Python packages differ", async () => {
    const repo = makeRepo({ ...CLEAN, "calc/bad.py": TYPE_ERROR });
    const data = mkdtempSync(join(root, "data-"));
    const cache = cacheFor(data, repo.dir, "build-a");
    await checkStep.run(context(repo.dir, cache).ctx);

    // another tree
    repo.commit({ "calc/bad.py": "def half(n: int) -> int:\n    return n // 2\n" });
    const changed = context(repo.dir, cacheFor(data, repo.dir, "build-b"));
    expect(await checkStep.run(changed.ctx)).toMatchObject({ state: "success", summary: "No problems in 3 files" });
    expect(changed.log()).not.toContain("cached result");

    // the first tree again, but type errors enforced
    repo.git("checkout", "-q", "HEAD~1");
    const enforced = context(repo.dir, cacheFor(data, repo.dir, "build-c"), {
      repoConfig: { ...CONFIG, check: { enforceTypeErrors: true } },
    });
    expect(await checkStep.run(enforced.ctx)).toMatchObject({ state: "failure", summary: "1 type error" });
    expect(enforced.log()).not.toContain("cached result");

    // the first tree again, with another set of installed packages (a virtualenv of its own)
    const venv = join(root, `venv-${Date.now()}`);
    execFileSync(PYTHON, ["-m", "venv", "--without-pip", venv]);
    const otherPython = context(repo.dir, cacheFor(data, repo.dir, "build-d"), { python: join(venv, "bin", "python") });
    expect(await checkStep.run(otherPython.ctx)).toMatchObject({
      state: "success",
      summary: "1 type error not enforced",
    });
    expect(otherPython.log()).not.toContain("cached result");

    // and the first tree as it was: reused
    const same = context(repo.dir, cacheFor(data, repo.dir, "build-e"));
    expect(await checkStep.run(same.ctx)).toMatchObject({ state: "success", summary: "1 type error not enforced" });
    expect(same.log()).toContain("cached result from build build-a");
    repo.remove();
  });

  it("never shares a result between repositories", async () => {
    const repo = makeRepo(CLEAN);
    const data = mkdtempSync(join(root, "data-"));
    await checkStep.run(context(repo.dir, cacheFor(data, repo.dir, "build-x")).ctx);
    const other = context(repo.dir, {
      ...cacheFor(data, repo.dir, "build-y"),
      scope: "https://github.com/someone/else.git",
    });
    await checkStep.run(other.ctx);
    expect(other.log()).not.toContain("cached result");
    repo.remove();
  });
});

describe("reuseResult", () => {
  const step = (state: StepResult["state"]) => ({
    step: "fake",
    inputs: async () => ({ v: 1 }),
    same: "same",
    run: async (ctx: StepContext): Promise<StepResult> => {
      ctx.log.write("ran\n");
      return { name: "fake", state, summary: state, exitCode: null, durationMs: 5 };
    },
  });

  it("stores successes and failures, never errors", async () => {
    const data = mkdtempSync(join(root, "data-"));
    const cache: StepCache = { dir: data, tree: "a".repeat(40), scope: "s", buildId: "b1" };
    await reuseResult(context(root, cache).ctx, step("error"));
    expect(existsSync(join(data, RESULTS)) ? readdirSync(join(data, RESULTS)) : []).toEqual([]);
    const again = context(root, cache);
    await reuseResult(again.ctx, step("error"));
    expect(again.log()).toBe("ran\n");
    await reuseResult(context(root, cache).ctx, step("failure"));
    const hit = context(root, cache);
    expect(await reuseResult(hit.ctx, step("failure"))).toMatchObject({ state: "failure", summary: "failure" });
    expect(hit.log()).toContain("cached result from build b1");
  });

  it("runs the step when its inputs cannot be known", async () => {
    const data = mkdtempSync(join(root, "data-"));
    const cache: StepCache = { dir: data, tree: "a".repeat(40), scope: "s", buildId: "b1" };
    const unknown = { ...step("success"), inputs: async () => undefined };
    await reuseResult(context(root, cache).ctx, unknown);
    const second = context(root, cache);
    await reuseResult(second.ctx, unknown);
    expect(second.log()).toBe("ran\n");
  });

  it("keeps the first of two results stored under one key", async () => {
    const data = mkdtempSync(join(root, "data-"));
    const cache: StepCache = { dir: data, tree: "b".repeat(40), scope: "s", buildId: "first" };
    const result: StepResult = { name: "fake", state: "success", summary: "one", exitCode: 0, durationMs: 1 };
    expect(await writeCachedResult(cache, "k", result, "log one")).toBe(true);
    expect(
      await writeCachedResult({ ...cache, buildId: "second" }, "k", { ...result, summary: "two" }, "log two"),
    ).toBe(false);
    const stored = JSON.parse(readFileSync(join(data, RESULTS, "k", "result.json"), "utf8")) as {
      buildId: string;
      result: { summary: string };
    };
    expect(stored).toMatchObject({ buildId: "first", result: { summary: "one" } });
    expect(readdirSync(join(data, RESULTS))).toEqual(["k"]);
  });
});

describe("the docs step and the result cache", () => {
  it("reuses the docs of the same tree, archive included", async () => {
    const repo = makeRepo({ "docs/conf.py": 'project = "Demo"\n', "docs/index.rst": "Demo\n====\n\nHello.\n" });
    const data = mkdtempSync(join(root, "data-"));
    const first = context(repo.dir, cacheFor(data, repo.dir, "docs-one"));
    const one = await docsStep.run(first.ctx);
    expect(one).toMatchObject({ state: "success", counts: { pages: 1 } });
    const archive = readFileSync(one.artifacts![0]!.path);

    const second = context(repo.dir, cacheFor(data, repo.dir, "docs-two"));
    const two = await docsStep.run(second.ctx);
    expect(second.log()).toContain("cached result from build docs-one");
    expect(withoutDuration({ ...two, artifacts: [], reused: undefined })).toEqual(
      withoutDuration({ ...one, artifacts: [], reused: undefined }),
    );
    expect(two.reused?.buildId).toBe("docs-one");
    expect(two.artifacts).toEqual([
      {
        name: "docs-html.tar.gz",
        path: join(second.ctx.scratchDir, "docs-html.tar.gz"),
        contentType: "application/gzip",
      },
    ]);
    expect(readFileSync(two.artifacts![0]!.path).equals(archive)).toBe(true);
    expect(execFileSync("tar", ["-tzf", two.artifacts![0]!.path], { encoding: "utf8" }).split("\n")).toContain(
      "index.html",
    );

    // another docs configuration: built again
    const strict = context(repo.dir, cacheFor(data, repo.dir, "docs-three"), {
      repoConfig: { ...CONFIG, docs: { install: [], warningsAsErrors: true } },
    });
    await docsStep.run(strict.ctx);
    expect(strict.log()).not.toContain("cached result");
    repo.remove();
  }, 120_000);
});

describe("evicting results", () => {
  it("removes the least recently used results first, down to the bound", async () => {
    const data = mkdtempSync(join(root, "data-"));
    const cache: StepCache = { dir: data, tree: "c".repeat(40), scope: "s", buildId: "b" };
    const result: StepResult = { name: "fake", state: "success", summary: "x", exitCode: 0, durationMs: 1 };
    for (const key of ["old", "mid", "new"]) await writeCachedResult(cache, key, result, "x".repeat(1000));
    const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
    utimesSync(join(data, RESULTS, "old", "result.json"), at(30), at(30));
    utimesSync(join(data, RESULTS, "mid", "result.json"), at(20), at(20));
    const one = readFileSync(join(data, RESULTS, "new", "result.json")).length;
    const eviction = await evictCaches({ dir: data, maxBytes: 2 * one + 10 });
    expect(eviction.evicted.map((path) => path.split("/").pop())).toEqual(["old"]);
    expect(readdirSync(join(data, RESULTS)).sort()).toEqual(["mid", "new"]);
  });
});
