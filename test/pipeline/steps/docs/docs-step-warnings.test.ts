import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { docsStep } from "../../../../src/pipeline/steps/docs/docs.js";
import { annotationsFor } from "../../../../src/report/annotations.js";
import { summaryMarkdown } from "../../../../src/report/summary-markdown.js";
import { plural } from "../../../../src/text/plural.js";
import { stepContext } from "../../../support/step-context.js";

/** The server's Sphinx (Debian's 5.3 for /usr/bin/python3), which the step finds on PATH. */
const SPHINX_PYTHON = "/usr/bin/python3";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * Warnings of every kind: one without a location (the missing _static),
 * WARNING, ERROR and CRITICAL lines in .rst files and in a docstring, and a
 * line conf.py prints that looks like a warning but that Sphinx does not count.
 */
const DOCS = {
  "docs/conf.py": `import os
import sys

sys.path.insert(0, os.path.abspath(".."))
print("WARNING: printed by conf.py itself")
project = "Demo"
extensions = ["sphinx.ext.autodoc"]
html_static_path = ["_static"]
`,
  "docs/index.rst":
    "Demo\n====\n\n.. toctree::\n\n   usage\n\nSee :ref:`nope`.\n\n.. unknown-directive:: x\n\n.. automodule:: pkg\n   :members:\n",
  "docs/usage.rst": "Usage\n=====\n\nA `broken link`_.\n\nSub\n---\n\nOther\n=====\n\nSkipped\n~~~~~~~\n",
  "docs/orphan.rst": "Orphan\n======\n",
  "pkg/__init__.py": 'def f():\n    """Do *things.\n\n    More.\n    """\n',
};

/** What sphinx-build itself prints for the same tree: its summary line's count and each message's level. */
function sphinxItself(dir: string, args: string[]) {
  const out = mkdtempSync(join(tmpdir(), "pyci-sphinx-out-"));
  cleanups.push(() => rmSync(out, { recursive: true, force: true }));
  const r = spawnSync(SPHINX_PYTHON, ["-m", "sphinx", "-b", "html", ...args, "docs", out], {
    cwd: dir,
    encoding: "utf8",
  });
  const output = `${r.stdout}${r.stderr}`;
  const summary = /^build (?:succeeded|finished with problems), (\d+) warnings?\.$/m.exec(output);
  if (!summary) throw new Error(`sphinx-build printed no summary:\n${output}`);
  const levels = [...output.matchAll(/(WARNING|ERROR|CRITICAL): (.*)$/gm)].map((m) => ({
    severity: m[1] === "WARNING" ? "warning" : "error",
    message: m[2]!.trim(),
  }));
  return { count: Number(summary[1]), levels };
}

async function both(warningsAsErrors: boolean) {
  const fixture = stepContext(DOCS, { repoConfig: { docs: { install: [], warningsAsErrors } } });
  cleanups.push(fixture.remove);
  const sphinx = sphinxItself(fixture.repo.dir, warningsAsErrors ? ["-W", "--keep-going"] : []);
  const result = await docsStep.run(fixture.ctx);
  return { result, sphinx };
}

describe("docsStep warnings, compared with sphinx-build's own", () => {
  it("counts as Sphinx's summary line does, and puts a warning without a location in the summary, on no file", async () => {
    const { result, sphinx } = await both(false);
    expect(sphinx.count).toBeGreaterThan(3);
    expect(result.state).toBe("success");
    expect(result.counts?.warnings).toBe(sphinx.count);
    expect(result.summary).toContain(plural(sphinx.count, "warning"));

    const unlocated = result.diagnostics?.filter((d) => d.file === undefined) ?? [];
    expect(unlocated.map((d) => d.message)).toContain("html_static_path entry '_static' does not exist");
    expect(unlocated.every((d) => d.line === undefined)).toBe(true);
    const annotations = annotationsFor([result]);
    expect(annotations.map((a) => a.path)).not.toContain("docs/conf.py");
    expect(annotations).toHaveLength((result.diagnostics?.length ?? 0) - unlocated.length);
    expect(summaryMarkdown([result])).toContain("\n- warning: html_static_path entry '\\_static' does not exist");
  });

  it("keeps each line's own severity with -W, and the count of Sphinx's summary line", async () => {
    const { result, sphinx } = await both(true);
    expect(result.state).toBe("failure");
    expect(result.counts?.warnings).toBe(sphinx.count);
    expect(result.summary).toBe(`Sphinx failed: ${plural(sphinx.count, "warning")} treated as errors`);
    const level = new Map(sphinx.levels.map((l) => [l.message, l.severity]));
    const located = (result.diagnostics ?? []).filter((d) => d.file !== undefined && !d.message.startsWith("In the "));
    expect(located.length).toBeGreaterThan(2);
    for (const d of located) expect([d.message, d.severity]).toEqual([d.message, level.get(d.message)]);
    expect(new Set(located.map((d) => d.severity))).toEqual(new Set(["warning", "error"]));
  });
});
