import { describe, expect, it } from "vitest";
import { fetchFailure } from "../../src/checkout/fetch-failure.js";

/** git 2.x's own words, recorded from `git fetch -q --depth=1 origin <ref>`. */
describe("fetchFailure", () => {
  it("names a host that does not resolve, with git's line", () => {
    const lines = [
      "$ git fetch -q --no-tags --depth=1 origin HEAD",
      "fatal: unable to access 'https://no-such-host.invalid/x.git/': Could not resolve host: no-such-host.invalid",
    ];
    expect(fetchFailure(lines, "https://no-such-host.invalid/x.git", "HEAD")).toBe(
      "Cannot resolve the host no-such-host.invalid of https://no-such-host.invalid/x.git: offline, or a typo in the URL? (git: fatal: unable to access 'https://no-such-host.invalid/x.git/': Could not resolve host: no-such-host.invalid)",
    );
  });

  it("keeps credentials out and falls back to git's first error line", () => {
    const lines = ["fatal: the remote end hung up unexpectedly", "fatal: early EOF"];
    expect(fetchFailure(lines, "https://u:secret@example.com/r.git", "main")).toBe(
      "Could not fetch main from https://***@example.com/r.git (git: fatal: the remote end hung up unexpectedly)",
    );
  });
});
