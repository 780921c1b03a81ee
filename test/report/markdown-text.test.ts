import { describe, expect, it } from "vitest";
import { codeBlock } from "../../src/report/code-block.js";
import { markdownText } from "../../src/report/markdown-text.js";

describe("markdownText", () => {
  it("escapes what Markdown would read, and leaves ordinary text as it is", () => {
    expect(markdownText("AssertionError: 1 != 2 (expected 'a', got \"b\")")).toBe(
      "AssertionError: 1 != 2 (expected 'a', got \"b\")",
    );
    expect(markdownText("[x](y) ![i](j) <b>&amp; `c` *e* ~~s~~ a|b #1 $m$ \\")).toBe(
      "\\[x\\](y) !\\[i\\](j) \\<b\\>\\&amp; \\`c\\` \\*e\\* \\~\\~s\\~\\~ a\\|b \\#1 \\$m\\$ \\\\",
    );
  });

  it("keeps underscores inside words, where they are never emphasis", () => {
    expect(markdownText("tests.test_login.T.test_bad_password")).toBe("tests.test_login.T.test_bad_password");
    expect(markdownText("_private __dunder__ a__b x_")).toBe("\\_private \\_\\_dunder\\_\\_ a\\_\\_b x\\_");
  });

  it("keeps to one line and starts no block", () => {
    expect(markdownText("first\n  second\r\nthird\rfourth")).toBe("first second third fourth");
    expect(markdownText("- item")).toBe("\\- item");
    expect(markdownText("+ item")).toBe("\\+ item");
    expect(markdownText("=== ")).toBe("\\=== ");
    expect(markdownText("12. item")).toBe("12\\. item");
    expect(markdownText("1) item")).toBe("1\\) item");
    expect(markdownText("> quote")).toBe("\\> quote");
    expect(markdownText("a - b 1. c")).toBe("a - b 1. c");
  });
});

describe("codeBlock", () => {
  it("fences with more backticks than any run inside", () => {
    expect(codeBlock("plain")).toBe("```\nplain\n```");
    expect(codeBlock("a\n```\nb")).toBe("````\na\n```\nb\n````");
    expect(codeBlock("x `````` y")).toBe("```````\nx `````` y\n```````");
  });
});
