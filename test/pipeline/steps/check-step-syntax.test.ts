import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { checkStep } from "../../../src/pipeline/steps/check.js";
import { annotationsFor } from "../../../src/report/annotations.js";
import { summaryMarkdown } from "../../../src/report/summary-markdown.js";
import { plural } from "../../../src/text/plural.js";
import { PYTHON3, stepContext } from "../../support/step-context.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** What `python -c "compile(...)"` says of one file: its SyntaxError's line and message, or nothing. */
function compileError(python: string, file: string): { line: number; message: string } | undefined {
  const r = spawnSync(
    python,
    ["-c", "import sys; compile(open(sys.argv[1], 'rb').read(), sys.argv[1], 'exec')", file],
    {
      encoding: "utf8",
    },
  );
  if (r.status === 0) return undefined;
  // the last frame is the file's: the first is python -c's own "<string>"
  const line = [...r.stderr.matchAll(/line (\d+)/g)].at(-1);
  const message = /^\w*Error: (.*)$/m.exec(r.stderr);
  if (!line || !message) throw new Error(`python printed no SyntaxError:\n${r.stderr}`);
  return { line: Number(line[1]), message: message[1]! };
}

async function check(files: Record<string, string>, python = PYTHON3) {
  const fixture = stepContext(files, { python });
  cleanups.push(fixture.remove);
  const result = await checkStep.run(fixture.ctx);
  const compiled = Object.keys(files)
    .filter((f) => f.endsWith(".py"))
    .sort()
    .flatMap((file) => {
      const error = compileError(python, join(fixture.repo.dir, file));
      return error ? [{ file, ...error }] : [];
    });
  return { result, compiled };
}

/** bottle's test/test_mount.py, shortened, with the one-character typo on line 8. */
const MOUNT = `import unittest


class TestMount(unittest.TestCase):
    def setUp(self):
        self.value = 1

    def oops(:
        return self.value

    def test_mount(self):
        self.assertEqual(self.value, 1)

    def test_more(self):
        x = [i for i in range(3)]
        self.assertEqual(len(x), 3)


class Other(object):
    def method(self, a, b):
        return a + b
`;

const PYTHON38 = "/root/.pyenv/versions/3.8.18/bin/python3.8";

describe("checkStep syntax errors, compared with python -c compile(...)", () => {
  it("counts a one-character typo that pyright cascades as one error, where Python stops", async () => {
    const { result, compiled } = await check({
      "test/__init__.py": "",
      "test/test_mount.py": MOUNT,
      "test/test_other.py": "def fine():\n    return 1\n",
    });
    expect(compiled).toHaveLength(1);
    const counted = result.diagnostics?.filter((d) => d.syntax && !d.followOn) ?? [];
    expect(counted.map((d) => [d.file, d.line, d.message])).toEqual(compiled.map((c) => [c.file, c.line, c.message]));
    const followOns = result.diagnostics?.filter((d) => d.followOn) ?? [];
    expect(followOns.length).toBeGreaterThan(1);
    expect(Math.max(...followOns.map((d) => d.line ?? 0))).toBeGreaterThan(compiled[0]!.line);
    // pyright also warns of `oops` without self: "1 syntax error; 1 warning"
    expect(result.summary.split("; ")[0]).toBe(plural(compiled.length, "syntax error"));
    expect(result.state).toBe("failure");

    const annotations = annotationsFor([result]).filter((a) => a.path === "test/test_mount.py");
    expect(annotations.filter((a) => a.annotation_level === "failure")).toHaveLength(compiled.length);
    expect(annotations.filter((a) => a.title?.startsWith("Follow-on parse error"))).toHaveLength(followOns.length);
    expect(summaryMarkdown([result])).toContain(`; ${plural(followOns.length, "follow-on parse error")}, not counted)`);
  });

  it("counts one error in each broken file", async () => {
    const { result, compiled } = await check({
      "a.py": MOUNT,
      "b.py": "import os\nprint((os.sep\n",
      "c.py": "def f(x):\n    return x +\n\ndef g(:\n    pass\n",
    });
    expect(compiled).toHaveLength(3);
    const counted = result.diagnostics?.filter((d) => d.syntax && !d.followOn) ?? [];
    expect(counted.map((d) => [d.file, d.line, d.message])).toEqual(compiled.map((c) => [c.file, c.line, c.message]));
    // pyright also warns of `oops` without self: "1 syntax error; 1 warning"
    expect(result.summary.split("; ")[0]).toBe(plural(compiled.length, "syntax error"));
  });

  it.skipIf(!existsSync(PYTHON38))("says so when the interpreter is older than the syntax the code uses", async () => {
    const version = spawnSync(PYTHON38, ["-c", "import platform; print(platform.python_version())"], {
      encoding: "utf8",
    }).stdout.trim();
    const { result, compiled } = await check(
      { "shapes.py": 'def name(x):\n    match x:\n        case 1:\n            return "one"\n    return "other"\n' },
      PYTHON38,
    );
    expect(compiled).toHaveLength(1);
    const counted = result.diagnostics?.filter((d) => d.syntax && !d.followOn) ?? [];
    expect(counted).toHaveLength(1);
    expect(counted[0]).toMatchObject({ file: "shapes.py", line: compiled[0]!.line });
    expect(counted[0]!.message).toMatch(
      new RegExp(
        `^${compiled[0]!.message} \\(the interpreter is Python ${version.replaceAll(".", "\\.")}, older than this syntax: .*Python 3\\.10 or newer\\)$`,
      ),
    );
  });
});
