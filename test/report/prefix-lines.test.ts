import { describe, expect, it } from "vitest";
import { prefixLines } from "../../src/report/prefix-lines.js";

describe("prefixLines", () => {
  it("puts the prefix before every line, whatever the pieces the text comes in", () => {
    let text = "";
    const write = prefixLines("[test] ", (t) => (text += t));
    for (const piece of ["one\ntw", "o\n", "", "\nthree", " and more\n"]) write(piece);
    expect(text).toBe("[test] one\n[test] two\n[test] \n[test] three and more\n");
  });
});
