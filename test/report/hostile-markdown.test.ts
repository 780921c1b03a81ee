import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaultRepoConfig } from "../../src/pipeline/repo-config.js";
import { testStep } from "../../src/pipeline/steps/test.js";
import type { StepResult } from "../../src/pipeline/types.js";
import { logTailText } from "../../src/report/log-tail-text.js";
import { summaryMarkdown } from "../../src/report/summary-markdown.js";
import { makeRepo } from "../support/git-repo.js";

/**
 * A pull request writes its own check run summary through its test ids,
 * assertion messages, file names and tool output. All of it must read on
 * GitHub as the literal text it is: no forged table rows, links, images,
 * HTML, emphasis or headings, and no way out of a code block.
 */

const HOSTILE =
  "| forged | row | [click](https://evil.example) <img src=x> **bold** _it_ ~~del~~ # no heading &lt; & \\ `tick` $x$";
/** HOSTILE as the one escaping function writes it. */
const ESCAPED =
  "\\| forged \\| row \\| \\[click\\](https://evil.example) \\<img src=x\\> \\*\\*bold\\*\\* \\_it\\_ \\~\\~del\\~\\~ \\# no heading \\&lt; \\& \\\\ \\`tick\\` \\$x\\$";
const TRACEBACK = [
  "Traceback (most recent call last):",
  '  File "tests/test_x.py", line 5, in test_x',
  "    self.fail(HOSTILE)",
  "```",
  "</details>",
  `# ${HOSTILE}`,
  "````",
  `AssertionError: ${HOSTILE}`,
].join("\n");

const steps: StepResult[] = [
  {
    name: "install",
    state: "failure",
    summary: `Install command failed with exit code 1: echo '${HOSTILE}'`,
    exitCode: 1,
    durationMs: 100,
  },
  {
    name: "check",
    state: "failure",
    summary: "1 type error",
    exitCode: 1,
    durationMs: 200,
    enforced: true,
    diagnostics: [
      {
        file: "pkg/_x_.py",
        line: 1,
        column: 2,
        severity: "error",
        rule: "report*Star*",
        message: HOSTILE,
        syntax: false,
      },
    ],
  },
  {
    name: "test",
    state: "failure",
    summary: "1 failure in 1 test",
    exitCode: 1,
    durationMs: 300,
    tests: [
      {
        id: `tests.T.test_x ${HOSTILE}`,
        outcome: "fail",
        durationMs: 30,
        message: `AssertionError: ${HOSTILE}`,
        traceback: TRACEBACK,
        file: "tests/_x_.py",
        line: 5,
      },
    ],
  },
];

/** The number of `|` not escaped by a backslash: a table row's cell borders. */
function borders(line: string): number {
  return [...line.matchAll(/(\\*)\|/g)].filter((m) => m[1]!.length % 2 === 0).length;
}

/** The contents of each fenced code block, as a CommonMark reader finds them (backtick fences only). */
function codeBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  let fence: string | undefined;
  let lines: string[] = [];
  for (const line of markdown.split("\n")) {
    if (fence === undefined) {
      const open = /^(`{3,})[^`]*$/.exec(line);
      if (open) [fence, lines] = [open[1]!, []];
    } else if (new RegExp(`^${fence}\`*\\s*$`).test(line)) {
      blocks.push(lines.join("\n"));
      fence = undefined;
    } else {
      lines.push(line);
    }
  }
  return blocks;
}

describe("Markdown from the repository and its tools", () => {
  it("reads literally in the summary: table cells, test ids, diagnostics", () => {
    const md = summaryMarkdown(steps);
    const tables = md.split("\n").filter((line) => line.startsWith("|"));
    const header = tables.filter((line) => line.startsWith("| Step"))[0]!;
    for (const row of tables.slice(0, steps.length + 2)) expect(borders(row), row).toBe(borders(header));
    expect(md).toContain(
      `| install | ❌ failure | 100 ms | Install command failed with exit code 1: echo '${ESCAPED}' |`,
    );
    expect(md).toContain(`**tests.T.test_x ${ESCAPED}** (failed) at tests/\\_x\\_.py:5`);
    expect(md).toContain(`- pkg/\\_x\\_.py:1:2 error: ${ESCAPED} (report\\*Star\\*)`);
    const slowest = md.split("\n").find((line) => line.startsWith("| tests.T.test"))!;
    expect(slowest).toBe(`| tests.T.test_x ${ESCAPED} | 30 ms |`);
  });

  it("cannot close the code block holding a traceback", () => {
    const md = summaryMarkdown(steps);
    expect(codeBlocks(md)).toEqual([TRACEBACK]);
    expect(md).not.toContain("` ` `");
  });

  it("cannot close the code block holding a log tail", () => {
    const text = logTailText([
      { step: "test", text: `${TRACEBACK}\n` },
      { step: "check", text: "0 errors\n" },
    ]);
    expect(codeBlocks(text)).toEqual([TRACEBACK, "0 errors"]);
  });

  // GitHub renders with cmark-gfm: where it is installed, render and read what GitHub would show
  it.skipIf(!hasCmarkGfm())(
    "renders with cmark-gfm as the text it was, with no link, image, emphasis or row of its own",
    () => {
      const html = renderGfm(summaryMarkdown(steps, "https://ci.example.com/builds/abc"));
      expect(html).not.toContain("raw HTML omitted");
      expect(html).not.toMatch(/<(img|em|del|script)\b/);
      expect([...html.matchAll(/<h\d>(.*?)<\/h\d>/g)].map((m) => m[1])).toEqual([
        "Failing tests (1)",
        "Problems found (1)",
        "Slowest tests",
      ]);
      // the only link of its own making is the build link; a bare URL may be linked by its own text
      const links = [...html.matchAll(/<a href="([^"]*)">(.*?)<\/a>/g)].map((m) => [m[1], m[2]]);
      expect(links.filter(([href, text]) => href !== text)).toEqual([
        ["https://ci.example.com/builds/abc", "Full output of every step"],
      ]);
      // bold: the failing test's id, whole; nothing else
      expect([...html.matchAll(/<strong>(.*?)<\/strong>/g)].map((m) => text(m[1]!))).toEqual([
        `tests.T.test_x ${HOSTILE}`,
      ]);
      // 3 steps, 1 slowest test: rows as many as there are, each with its cells
      expect(html.match(/<tr>/g)).toHaveLength(1 + 3 + 1 + 1);
      expect(html.match(/<td>/g)).toHaveLength(3 * 4 + 1 * 2);
      const page = text(html);
      expect(page).toContain(`Install command failed with exit code 1: echo '${HOSTILE}'`);
      expect(page).toContain(`pkg/_x_.py:1:2 error: ${HOSTILE} (report*Star*)`);
      expect(page).toContain(TRACEBACK);
    },
  );
});

describe("Markdown from a real unittest run", () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it("reads literally, whatever the suite puts in its ids and messages", async () => {
    const repo = makeRepo({
      "test_forge.py": `import unittest

HOSTILE = ${JSON.stringify(HOSTILE)}


class Forge(unittest.TestCase):
    def id(self):
        return "test_forge.Forge.test_x " + HOSTILE

    def test_x(self):
        self.fail(HOSTILE + "\\n\`\`\`\\n# " + HOSTILE + "\\n<img src=x>")
`,
    });
    const scratchDir = mkdtempSync(join(tmpdir(), "pyci-scratch-"));
    dirs.push(repo.dir, scratchDir);
    const python = execFileSync("python3", ["-c", "import sys; print(sys.executable)"], { encoding: "utf8" }).trim();
    const result = await testStep.run({
      dir: repo.dir,
      repoConfig: defaultRepoConfig(),
      python,
      scratchDir,
      timeoutMs: 30_000,
      log: { write: () => undefined },
      sandbox: { kind: "off", hidden: [], readable: [], writable: [] },
    });
    expect(result.state).toBe("failure");
    const md = summaryMarkdown([result]);
    expect(md).toContain(`**test_forge.Forge.test_x ${ESCAPED}** (failed) at test_forge.py:11`);
    const [block] = codeBlocks(md);
    expect(block).toContain(`AssertionError: ${HOSTILE}\n\`\`\`\n# ${HOSTILE}\n<img src=x>`);
    if (hasCmarkGfm()) {
      const html = renderGfm(md);
      expect(html).not.toMatch(/<(img|em|del|h[1-2])\b|raw HTML omitted/);
      expect([...html.matchAll(/<a href="([^"]*)">(.*?)<\/a>/g)].every(([, href, label]) => href === label)).toBe(true);
      expect(text(html)).toContain(`test_forge.Forge.test_x ${HOSTILE}`);
    }
  });
});

function hasCmarkGfm(): boolean {
  try {
    execFileSync("cmark-gfm", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** GitHub's renderer with GitHub's extensions; raw HTML is omitted (and says so) as GitHub's sanitizer would strip it. */
function renderGfm(markdown: string): string {
  return execFileSync("cmark-gfm", ["-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter"], {
    input: markdown,
    encoding: "utf8",
  });
}

/** The text of rendered HTML: tags out, entities decoded. */
function text(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, "&");
}
