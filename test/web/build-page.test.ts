import { describe, expect, it } from "vitest";
import type { BuildRecord } from "../../src/store/build-store.js";
import { buildPage } from "../../src/web/build-page.js";
import type { LogWindow } from "../../src/web/log-window.js";

const build: BuildRecord = {
  id: "AAAAAAAAAAAAAAAAAAAAAA",
  owner: "octo",
  repo: "calc",
  sha: "a".repeat(40),
  event: "pull_request.opened",
  pipeline: "pr",
  prNumber: 3,
  prTitle: "<script>alert(1)</script>",
  prUrl: "javascript:alert(1)",
  branch: "feat/<b>",
  state: "failure",
  error: "<i>boom</i>",
  createdAt: "2026-11-28T10:00:00.000Z",
  startedAt: "2026-11-28T10:00:01.000Z",
  finishedAt: "2026-11-28T10:00:04.500Z",
  steps: [
    {
      name: "check",
      state: "success",
      summary: "1 warning",
      exitCode: 0,
      durationMs: 1500,
      diagnostics: [
        {
          file: "calc.py",
          line: 6,
          column: 12,
          severity: "warning",
          rule: "reportReturnType",
          message: "<str> is not int",
          syntax: false,
        },
        {
          file: "bad.py",
          line: 1,
          column: 1,
          severity: "error",
          rule: "syntax",
          message: "Expected expression",
          syntax: true,
        },
      ],
    },
    {
      name: "test",
      state: "failure",
      summary: "2 failures in 3 tests, 1 skipped",
      exitCode: 1,
      durationMs: 10,
      testCounts: { run: 3, failures: 2, errors: 0, skipped: 1, expectedFailures: 0, unexpectedSuccesses: 0 },
      tests: [
        { id: "t.T.test_ok", outcome: "pass", durationMs: 1 },
        { id: "t.T.test_skip", outcome: "skip", durationMs: 0, message: "no <network>" },
        {
          id: "t.T.test_x",
          outcome: "fail",
          durationMs: 1,
          traceback: "Traceback (most recent call last):\nAssertionError: <b>",
          file: "t.py",
          line: 4,
        },
        {
          id: "t.T.test_x",
          subtest: "(i=2)",
          module: "t2",
          outcome: "fail",
          durationMs: 1,
          traceback: "Traceback (most recent call last):\nAssertionError: 2",
        },
      ],
    },
  ],
};

function window(step: string, text: string, over: Partial<LogWindow> = {}): LogWindow {
  const size = Buffer.byteLength(text);
  return { step, text, start: 0, end: size, size, firstLine: 1, partial: false, ...over };
}

const SCRIPT = "/assets/log-viewer.js?v=abc";

describe("buildPage", () => {
  it("says what the report says beside the results: advice, notes, and tests failing only in parallel, escaped", () => {
    const said: BuildRecord = {
      ...build,
      steps: [
        { ...build.steps[0]!, advice: "Pin <pkg> in requirements.txt." },
        {
          ...build.steps[1]!,
          notes: ["With test.parallel: auto this step would likely take 40% less time."],
          tests: [
            ...(build.steps[1]!.tests ?? []),
            {
              id: "tests.test_io.FileTest.test_shared",
              outcome: "pass",
              durationMs: 3,
              onlyInParallel: {
                outcome: "fail",
                message: "AssertionError: <locked>",
                file: "tests/test_io.py",
                line: 21,
              },
            },
          ],
        },
      ],
    };
    const html = buildPage(said, [], { scriptSrc: SCRIPT });
    expect(html).toMatch(/<tr data-step="check">.*What to do: Pin &lt;pkg&gt; in requirements.txt./);
    expect(html).toMatch(/<tr data-step="test">.*would likely take 40% less time/);
    expect(html).toContain("<h3>Failing only in parallel (1)</h3>");
    expect(html).toMatch(
      /<code>tests.test_io.FileTest.test_shared<\/code> failed at <code>tests\/test_io.py:21<\/code>: AssertionError: &lt;locked&gt;/,
    );
    expect(buildPage(build, [], { scriptSrc: SCRIPT })).not.toContain("Failing only in parallel");
  });

  it("links a reused step to the build whose result it is", () => {
    const reused = {
      ...build,
      steps: [
        { ...build.steps[0]!, reused: { buildId: "BBBBBBBBBBBBBBBBBBBBBB", createdAt: "2026-11-27T10:00:00.000Z" } },
        build.steps[1]!,
      ],
    };
    const html = buildPage(reused, [], { scriptSrc: SCRIPT });
    expect(html).toMatch(/<tr data-step="check">.*reused from <a href="BBBBBBBBBBBBBBBBBBBBBB">build BBBBBBBB<\/a>/);
    expect(html).not.toMatch(/<tr data-step="test">.*reused/);
  });

  it("escapes everything that comes from the repository or the payload", () => {
    const html = buildPage(build, [window("test", "\u001b[31m<img src=x onerror=alert(1)>\u001b[0m\n")], {
      scriptSrc: SCRIPT,
    });
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain('href="javascript:');
    expect(html).not.toContain("<img src=x");
    expect(html).toContain('<span class="a-f1">&lt;img src=x onerror=alert(1)&gt;</span>');
    expect(html).toContain("AssertionError: &lt;b&gt;");
    expect(html).toContain('<p class="problem">&lt;i&gt;boom&lt;/i&gt;</p>');
    expect(html).toContain("<code>feat/&lt;b&gt;</code>");
    expect(html).toContain("no &lt;network&gt;");
    expect(html).toContain("&lt;str&gt; is not int");
    expect(html).toContain('<a class="raw" href="/builds/AAAAAAAAAAAAAAAAAAAAAA/test.log">raw log</a>');
    expect(html).toContain("<code>t.py:4</code>");
    // the only script is the page's own file
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).toContain(`<script type="module" src="${SCRIPT}"></script>`);
  });

  it("lists failures first with their tracebacks, then skips and passes, and diagnostics errors first", () => {
    const html = buildPage(build, [], { scriptSrc: SCRIPT });
    const failures = html.indexOf('id="failures"');
    expect(failures).toBeGreaterThan(0);
    expect(html.indexOf("Skipped (1)")).toBeGreaterThan(failures);
    expect(html.indexOf("Passed (1)")).toBeGreaterThan(html.indexOf("Skipped (1)"));
    expect(html).toContain("Traceback (most recent call last):");
    expect(html).toContain('<p class="meta">2 failures in 3 tests, 1 skipped</p>');
    expect(html).toContain("Failing tests (2)");
    expect(html).toContain("<code>t.T.test_x (i=2) (run from t2)</code>");
    expect(html.indexOf("bad.py:1:1")).toBeLessThan(html.indexOf("calc.py:6:12"));
    expect(html).toContain("syntax error");
    expect(html).toContain("took 3.5 s");
  });

  it("numbers every line as in the whole log, each an anchor linking to itself", () => {
    const html = buildPage(
      build,
      [window("test", "one\n\u001b[1mtwo\u001b[0m\nthree", { start: 1000, end: 1019, size: 5000, firstLine: 41 })],
      { scriptSrc: SCRIPT },
    );
    expect(html).toContain('<div class="l" id="Ltest-41"><a href="#Ltest-41">41</a>one</div>');
    expect(html).toContain('<div class="l" id="Ltest-42"><a href="#Ltest-42">42</a><span class="a-b">two</span></div>');
    expect(html).toContain('<div class="l" id="Ltest-43"><a href="#Ltest-43">43</a>three</div>');
    expect(html).not.toContain('id="Ltest-44"');
    // the tail says where it is, and links to what comes before it without JavaScript
    expect(html).toContain('<div class="chunk" data-start="1000" data-end="1019" data-line="41">');
    expect(html).toContain('data-end="1019" data-next-line="44" data-open');
    expect(html).toContain(
      '<a href="/builds/AAAAAAAAAAAAAAAAAAAAAA?step=test&amp;before=1000#log-test">Load earlier output</a>',
    );
    expect(html).not.toContain("Jump to the end");
  });

  it("is live only while the build is unfinished and shows its tail; steps with a log and no result are running", () => {
    const running: BuildRecord = {
      ...build,
      state: "running",
      finishedAt: undefined,
      steps: [build.steps[0]!],
    } as BuildRecord;
    const logs = [window("check", "ok\n"), window("test", "running\n")];
    const live = buildPage(running, logs, { scriptSrc: SCRIPT });
    expect(live).toContain('<main id="build" data-build="AAAAAAAAAAAAAAAAAAAAAA" data-live>');
    expect(live).toMatch(/<tr data-step="test">.*?<span class="state s-running">running<\/span>/);
    expect(live).toMatch(/<section class="step" id="log-test"[^>]*>\s*<h3>.*?s-running/);
    const focused = buildPage(running, [window("test", "early\n", { end: 6, size: 900 })], {
      scriptSrc: SCRIPT,
      focus: "test",
    });
    expect(focused).not.toContain("data-live");
    expect(focused).toContain('<a href="/builds/AAAAAAAAAAAAAAAAAAAAAA#log-test">Jump to the end of the log</a>');
    expect(buildPage(build, logs, { scriptSrc: SCRIPT })).not.toContain("data-live");
    expect(buildPage({ ...running, state: "queued", steps: [] }, [], { scriptSrc: SCRIPT })).toContain(
      "No output yet.",
    );
  });
});
