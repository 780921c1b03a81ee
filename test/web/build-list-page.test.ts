import { describe, expect, it } from "vitest";
import type { BuildRecord } from "../../src/store/build-store.js";
import { buildListPage } from "../../src/web/build-list-page.js";

const build = (overrides: Partial<BuildRecord> = {}): BuildRecord => ({
  id: "AAAAAAAAAAAAAAAAAAAAAA",
  owner: "acme",
  repo: "widgets",
  sha: "0123456789abcdef0123456789abcdef01234567",
  event: "pull_request.opened",
  pipeline: "pr",
  prNumber: 12,
  prTitle: "Add label()",
  branch: "feature/label",
  state: "failure",
  createdAt: "2026-11-28T10:00:00.000Z",
  startedAt: "2026-11-28T10:00:01.000Z",
  finishedAt: "2026-11-28T10:00:13.500Z",
  steps: [],
  ...overrides,
});

const href = (id: string) => `https://ci.example.com/builds/${id}`;

describe("buildListPage", () => {
  it("lists builds with their state, repository, pull request, branch, commit and duration, each linking to its page", () => {
    const html = buildListPage({
      builds: [build(), build({ id: "BBBBBBBBBBBBBBBBBBBBBB", state: "running", finishedAt: undefined as never })],
      filters: {},
      buildHref: href,
    });
    expect(html).toContain('<a href="https://ci.example.com/builds/AAAAAAAAAAAAAAAAAAAAAA">failure</a>');
    expect(html).toContain('<td class="failure">');
    expect(html).toContain("acme/widgets");
    expect(html).toContain("#12 Add label()");
    expect(html).toContain("feature/label");
    expect(html).toContain("<code>0123456</code>");
    expect(html).toContain("12.5 s");
    expect(html).toContain('<a href="https://ci.example.com/builds/BBBBBBBBBBBBBBBBBBBBBB">running</a>');
    expect(html).not.toContain("Older builds");
    expect(html).not.toContain("Newest");
  });

  it("escapes what comes from payloads and from the query", () => {
    const html = buildListPage({
      builds: [build({ prTitle: "<script>alert(1)</script>", branch: `"><img src=x onerror=alert(1)>` })],
      filters: { repository: `"><script>x</script>`, branch: "<b>" },
      problem: "state must be <i>one</i>",
      buildHref: href,
    });
    expect(html).not.toMatch(/<script>|<img|<b>|<i>/);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain('value="&quot;&gt;&lt;script&gt;x&lt;/script&gt;"');
    expect(html).toContain("state must be &lt;i&gt;one&lt;/i&gt;");
  });

  it("keeps the filters in the form and links the next and the newest page", () => {
    const html = buildListPage({
      builds: [build()],
      filters: { repository: "acme/widgets", state: "failure", branch: "main" },
      olderHref:
        "/builds?repository=acme%2Fwidgets&before=2026-11-28T10%3A00%3A00.000Z&beforeId=AAAAAAAAAAAAAAAAAAAAAA",
      newestHref: "/builds?repository=acme%2Fwidgets",
      buildHref: href,
    });
    expect(html).toContain('<input name="repository" value="acme/widgets"');
    expect(html).toContain('<input name="branch" value="main"');
    expect(html).toContain('<option value="failure" selected>failure</option>');
    expect(html).toContain('<option value="">any state</option>');
    expect(html).toContain(
      'href="/builds?repository=acme%2Fwidgets&amp;before=2026-11-28T10%3A00%3A00.000Z&amp;beforeId=AAAAAAAAAAAAAAAAAAAAAA" rel="next">Older builds</a>',
    );
    expect(html).toContain('<a href="/builds?repository=acme%2Fwidgets">Newest</a>');
  });

  it("says so when nothing matches", () => {
    expect(buildListPage({ builds: [], filters: { state: "error" }, buildHref: href })).toContain("No builds match.");
  });
});
