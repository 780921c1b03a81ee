import { describe, expect, it } from "vitest";
import type { BuildRecord } from "../../src/store/build-store.js";
import { buildPage } from "../../src/web/build-page.js";

const build: BuildRecord = {
  id: "AAAAAAAAAAAAAAAAAAAAAA",
  owner: "octo",
  repo: "calc",
  sha: "a".repeat(40),
  event: "pull_request.opened",
  prNumber: 3,
  prTitle: "<script>alert(1)</script>",
  prUrl: "javascript:alert(1)",
  state: "failure",
  createdAt: "2026-11-28T10:00:00Z",
  steps: [
    { name: "test", state: "failure", summary: "1 of 1 failed", exitCode: 1, durationMs: 10, tests: [{ id: "t.T.test_x", outcome: "fail", durationMs: 1, traceback: "AssertionError: <b>", file: "t.py", line: 4 }] },
  ],
};

describe("buildPage", () => {
  it("escapes everything that comes from the repository or the payload", () => {
    const html = buildPage(build, [{ step: "test", text: "\u001b[31m<img src=x onerror=alert(1)>\u001b[0m\n", truncated: false }]);
    expect(html).not.toContain("<script>alert(1)</script>");
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain('href="javascript:');
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("AssertionError: &lt;b&gt;");
    expect(html).toContain('<a href="/builds/AAAAAAAAAAAAAAAAAAAAAA/test.log">raw</a>');
    expect(html).toContain("<code>t.py:4</code>");
  });
});
