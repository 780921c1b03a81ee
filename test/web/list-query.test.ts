import { describe, expect, it } from "vitest";
import { listQueryString, parseListQuery } from "../../src/web/list-query.js";

const parse = (query: string) => parseListQuery(new URLSearchParams(query));

describe("parseListQuery", () => {
  it("defaults to the newest 50 builds of every repository", () => {
    expect(parse("")).toEqual({ filters: {}, query: { limit: 50 } });
    expect(parse("repository=&state=&branch=")).toEqual({ filters: {}, query: { limit: 50 } });
  });

  it("takes a repository as owner/repo, an owner alone, or owner and repo", () => {
    expect(parse("repository=acme/widgets")).toMatchObject({
      filters: { repository: "acme/widgets" },
      query: { owner: "acme", repo: "widgets" },
    });
    expect(parse("repository=acme")).toMatchObject({ filters: { repository: "acme" }, query: { owner: "acme" } });
    expect(parse("owner=acme&repo=widgets")).toMatchObject({
      filters: { repository: "acme/widgets" },
      query: { owner: "acme", repo: "widgets" },
    });
    expect(parse("repo=widgets")).toMatch(/needs its owner/);
    expect(parse("repository=a/b/c")).toMatch(/owner\/repo/);
    expect(parse("repository=acme/wid%20gets")).toMatch(/repo must be a GitHub name/);
  });

  it("filters by state and branch, pages by limit and cursor", () => {
    expect(
      parse("state=failure&branch=feature/x&limit=10&before=2026-11-28T10:00:00.000Z&beforeId=AAAAAAAAAAAAAAAAAAAAAA"),
    ).toEqual({
      filters: { state: "failure", branch: "feature/x" },
      query: {
        state: "failure",
        branch: "feature/x",
        limit: 10,
        before: "2026-11-28T10:00:00.000Z",
        beforeId: "AAAAAAAAAAAAAAAAAAAAAA",
      },
    });
  });

  it("says what is wrong with a malformed parameter", () => {
    expect(parse("state=pending")).toMatch(/state must be one of queued, running, success, failure, error/);
    expect(parse("limit=0")).toMatch(/limit must be/);
    expect(parse("limit=201")).toMatch(/limit must be/);
    expect(parse("limit=ten")).toMatch(/limit must be/);
    expect(parse("before=yesterday")).toMatch(/before must be/);
    expect(parse("before=2026-11-28T10:00:00.000Z&beforeId=../../etc")).toMatch(/beforeId must be/);
    expect(parse("beforeId=AAAAAAAAAAAAAAAAAAAAAA")).toMatch(/needs before/);
    expect(parse(`branch=${"b".repeat(256)}`)).toMatch(/branch must be at most 255/);
  });

  it("writes the query string of a page back", () => {
    expect(listQueryString({}, 50)).toBe("");
    expect(
      listQueryString({ repository: "acme/widgets", state: "error", branch: "a b" }, 10, {
        before: "2026-11-28T10:00:00.000Z",
        beforeId: "AAAAAAAAAAAAAAAAAAAAAA",
      }),
    ).toBe(
      "?repository=acme%2Fwidgets&state=error&branch=a+b&limit=10&before=2026-11-28T10%3A00%3A00.000Z&beforeId=AAAAAAAAAAAAAAAAAAAAAA",
    );
  });
});
