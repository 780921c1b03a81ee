import { describe, expect, it } from "vitest";
import { plural } from "../../src/text/plural.js";

describe("plural", () => {
  it("counts a noun, singular only for one", () => {
    expect(plural(1, "file")).toBe("1 file");
    expect(plural(0, "file")).toBe("0 files");
    expect(plural(52, "syntax error")).toBe("52 syntax errors");
    expect(plural(1, "unexpected success", "unexpected successes")).toBe("1 unexpected success");
    expect(plural(2, "unexpected success", "unexpected successes")).toBe("2 unexpected successes");
  });
});
