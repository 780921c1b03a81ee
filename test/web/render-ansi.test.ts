import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseSgrParams, PLAIN, renderAnsi, sgrParams } from "../../src/web/render-ansi.js";

const ESC = "\u001b";

describe("renderAnsi", () => {
  it("turns SGR colours and weights into spans with classes, and spans never cross lines", () => {
    const out = renderAnsi(`${ESC}[1;31mFAIL${ESC}[0m: test_x\n${ESC}[32mok${ESC}[39m plain\n`);
    expect(out.lines).toEqual(['<span class="a-b a-f1">FAIL</span>: test_x', '<span class="a-f2">ok</span> plain']);
    expect(out.open).toBe(false);
    const carried = renderAnsi(`${ESC}[33mfirst\nsecond${ESC}[m\nthird\n`);
    expect(carried.lines).toEqual(['<span class="a-f3">first</span>', '<span class="a-f3">second</span>', "third"]);
  });

  it("handles bright, background, 256-colour and 24-bit colours, dim, italic and underline", () => {
    expect(renderAnsi(`${ESC}[91;44mx`).lines).toEqual(['<span class="a-f9 a-g4">x</span>']);
    expect(renderAnsi(`${ESC}[38;5;208mx`).lines).toEqual(['<span style="color:#ff8700">x</span>']);
    expect(renderAnsi(`${ESC}[38;5;244mx`).lines).toEqual(['<span style="color:#808080">x</span>']);
    expect(renderAnsi(`${ESC}[48;2;1;2;255mx`).lines).toEqual(['<span style="background-color:#0102ff">x</span>']);
    expect(renderAnsi(`${ESC}[2;3;4mx${ESC}[22;23;24my`).lines).toEqual(['<span class="a-d a-i a-u">x</span>y']);
    expect(renderAnsi(`${ESC}[38;5;999mx`).lines).toEqual(["x"]);
  });

  it("escapes the text and drops other escapes and control characters", () => {
    expect(renderAnsi(`${ESC}[31m<img src=x onerror=alert(1)>&"'\n`).lines).toEqual([
      '<span class="a-f1">&lt;img src=x onerror=alert(1)&gt;&amp;&quot;&#39;</span>',
    ]);
    expect(renderAnsi(`${ESC}[2K${ESC}[1Gdone${ESC}(B${ESC}[m\u0007\u0000\t!\n`).lines).toEqual(["done\t!"]);
    expect(renderAnsi(`${ESC}]8;;https://example.com${ESC}\\link${ESC}]8;;${ESC}\\\n`).lines).toEqual(["link"]);
    expect(renderAnsi(`${ESC}[31"m`).lines).toEqual([]);
  });

  it("keeps the last state of a line rewritten with carriage returns, and CRLF is a line break", () => {
    expect(renderAnsi("10%\r50%\r100%\n").lines).toEqual(["100%"]);
    expect(renderAnsi("windows\r\nline\r\n").lines).toEqual(["windows", "line"]);
    expect(renderAnsi("done\r\n").lines).toEqual(["done"]);
    expect(renderAnsi("kept\r").lines).toEqual(["kept"]);
  });

  it("reports an unterminated last line and the state to continue with", () => {
    const out = renderAnsi(`a\n${ESC}[1;38;2;9;8;7mpart`);
    expect(out).toMatchObject({ lines: ["a", '<span class="a-b" style="color:#090807">part</span>'], open: true });
    expect(sgrParams(out.state)).toBe("1;38;2;9;8;7");
    expect(parseSgrParams(sgrParams(out.state))).toEqual(out.state);
    expect(renderAnsi(`done\n${ESC}[0m`)).toMatchObject({ lines: ["done"], open: false });
    expect(renderAnsi("")).toEqual({ lines: [], open: false, state: PLAIN });
    const next = renderAnsi(" more\n", parseSgrParams("1;97;48;5;17"));
    expect(next.lines).toEqual(['<span class="a-b a-f15" style="background-color:#00005f"> more</span>']);
    expect(parseSgrParams("1;<script>")).toEqual(PLAIN);
  });

  it("writes no markup but spans, and carries its state across requests, for any output", () => {
    const piece = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constantFrom(
        "\n",
        "\r",
        "\r\n",
        "\t",
        "<",
        "&",
        "\u0000",
        "\u007f",
        `${ESC}`,
        `${ESC}[`,
        `${ESC}[m`,
        `${ESC}(B`,
        `${ESC}]0;title\u0007`,
        "🐍",
        "é",
      ),
      fc
        .array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant("")), { maxLength: 6 })
        .map((codes) => `${ESC}[${codes.join(";")}m`),
      fc.tuple(fc.constantFrom(38, 48), fc.integer({ min: 0, max: 256 })).map(([k, n]) => `${ESC}[${k};5;${n}m`),
      fc
        .tuple(fc.constantFrom(38, 48), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 256 }))
        .map(([k, r, g]) => `${ESC}[${k};2;${r};${g};7m`),
    );
    fc.assert(
      fc.property(
        fc.array(piece, { maxLength: 30 }).map((p) => p.join("")),
        fc.constantFrom("", "1;31", "38;5;200;48;2;1;2;3"),
        (text, sgr) => {
          const rendered = renderAnsi(text, parseSgrParams(sgr));
          for (const line of rendered.lines) expect(line).not.toMatch(/<(?!\/?span[ >])/);
          expect(parseSgrParams(sgrParams(rendered.state))).toEqual({ ...PLAIN, ...rendered.state });
        },
      ),
      { numRuns: 2000 },
    );
  });
});
