import { latestStatus, type FakeGitHub } from "./fake-github.js";

/**
 * What a commit's reports say at the fake GitHub, for comparing two servers' reports of the same
 * commits (test/e2e/scale-out-parity.e2e.test.ts), and the variants of the project it builds.
 */

const CONTEXTS = ["ci/check", "ci/test"];

export interface FinalReports {
  /** Check runs made for the commit. */
  checkRuns: number;
  /** Statuses other than `pending` posted per context of CONTEXTS. */
  finalStatusesPerContext: number[];
  /** What GitHub shows: the latest status of each context; the check run as it stands, with its annotations. */
  content: {
    statuses: { context: string; state: unknown; description: unknown }[];
    checkRun: Record<string, unknown>;
  };
}

/** The commit's reports once every context is final and its check run completed, else undefined. */
export function finalReports(fake: FakeGitHub, sha: string): FinalReports | undefined {
  const latest = CONTEXTS.map((context) => latestStatus(fake.statuses, sha, context));
  const runs = fake.checkRuns.filter((r) => r.fields.head_sha === sha);
  if (latest.some((s) => !s || s.body.state === "pending") || !runs.some((r) => r.fields.status === "completed"))
    return undefined;
  const run = runs.find((r) => r.fields.status === "completed")!;
  const output = (run.fields.output ?? {}) as Record<string, unknown>;
  return {
    checkRuns: runs.length,
    finalStatusesPerContext: CONTEXTS.map(
      (context) =>
        fake.statuses.filter((s) => s.sha === sha && s.body.context === context && s.body.state !== "pending").length,
    ),
    content: {
      statuses: latest.map((s) => ({
        context: s!.body.context as string,
        state: s!.body.state,
        description: s!.body.description,
      })),
      checkRun: {
        name: run.fields.name,
        status: run.fields.status,
        conclusion: run.fields.conclusion,
        title: output.title,
        summary: output.summary,
        text: output.text,
        actions: run.fields.actions,
        annotations: run.annotations,
      },
    },
  };
}

/**
 * `content` with only what differs between two servers' builds of one commit replaced, in every
 * string: the worker's name (" on worker-a" after the checkout), URLs (ports, build ids), times
 * and durations, the build's directory (under each machine's own CI_WORK_DIR) in the commands the
 * check run's text shows, and the lines that say how warm the machine's git cache was
 * (CACHE_STATE_LINES); rows of a table ordered by time ("Slowest tests") are sorted by name.
 * Everything else — states, counts, test names, messages, paths in the
 * repository, line numbers — stays.
 */
export function normalised(content: FinalReports["content"], sha: string): unknown {
  const text = (value: string) =>
    value
      .split("\n")
      .filter((line) => !CACHE_STATE_LINES.some((pattern) => pattern.test(line)))
      .join("\n")
      .replaceAll(sha, "<sha>")
      .replace(/\/[^\s"]*\/pyci-build-[A-Za-z0-9_-]+/g, "<build-dir>")
      .replace(/ on worker-[a-z0-9-]+/g, "")
      .replace(/https?:\/\/[^\s)"\]]+/g, "<url>")
      .replace(/\b\d{4}-\d\d-\d\dT[\d:.]+Z\b/g, "<time>")
      .replace(/\b\d+m \d+s\b/g, "<duration>")
      .replace(/\b\d+(\.\d+)?\s?(ms|s|m|min)\b/g, "<duration>")
      .split("\n")
      .map((line, i, lines) => (TIMED_ROW.test(line) ? sortedRun(lines, i) : line))
      .join("\n");
  const walk = (value: unknown): unknown =>
    typeof value === "string"
      ? text(value)
      : Array.isArray(value)
        ? value.map(walk)
        : value && typeof value === "object"
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]))
          : value;
  return walk(content);
}

/** A row of a table of durations, once they are `<duration>`. */
const TIMED_ROW = /^\| .+ \| <duration> \|$/;

/** Line `i` of `lines` as it stands in its run of TIMED_ROW lines sorted. */
function sortedRun(lines: string[], i: number): string {
  let first = i;
  while (first > 0 && TIMED_ROW.test(lines[first - 1]!)) first--;
  let end = i;
  while (end < lines.length && TIMED_ROW.test(lines[end]!)) end++;
  return lines.slice(first, end).sort()[i - first]!;
}

/** Checkout lines about the git cache's state: its first fill, a wait for another build using it. */
const CACHE_STATE_LINES = [/^\$ git init -q --bare$/, /^Waiting for another build to finish with the git cache/];

/** The project's variants: a pass, a failing test, a test that raises, a pyright error (pyrightconfig.json: enforced). */
export const PARITY_VARIANTS: { name: string; files: Record<string, string> }[] = [
  { name: "passes", files: project("return a + b", "self.assertEqual(add(2, 3), 5)") },
  { name: "a test fails", files: project("return a + b", "self.assertEqual(add(2, 2), 5)") },
  { name: "a test raises", files: project("return a + b", "raise RuntimeError('the fixture is gone')") },
  { name: "a type error", files: project('return a + "b"', "self.assertEqual(add(2, 3), 5)") },
];

function project(body: string, assertion: string): Record<string, string> {
  return {
    "pyrightconfig.json": '{ "include": ["calc.py", "test_calc.py"] }\n',
    "calc.py": `def add(a: int, b: int) -> int:\n    ${body}\n`,
    "test_calc.py": [
      "import unittest",
      "",
      "from calc import add",
      "",
      "",
      "class AddTest(unittest.TestCase):",
      "    def test_adds(self) -> None:",
      "        print('adding', flush=True)",
      `        ${assertion}`,
      "",
      "    def test_other(self) -> None:",
      "        self.assertTrue(True)",
      "",
    ].join("\n"),
  };
}
