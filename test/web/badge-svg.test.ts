import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { badgeSvg } from "../../src/web/badge-svg.js";

const TAGS = new Set([
  "svg",
  "title",
  "filter",
  "feGaussianBlur",
  "linearGradient",
  "stop",
  "clipPath",
  "rect",
  "g",
  "text",
]);

/** Every element name in the markup, and the text between tags with entities removed. */
function parts(svg: string): { tags: string[]; text: string } {
  const tags = [...svg.matchAll(/<\/?([A-Za-z][A-Za-z0-9]*)/g)].map((m) => m[1]!);
  const text = svg.replace(/<[^>]*>/g, "").replace(/&(amp|lt|gt|quot|#39|apos);/g, "");
  return { tags, text };
}

describe("badgeSvg", () => {
  it("draws 'pyci | passing' with its colour, an accessible name and a title", () => {
    const svg = badgeSvg({ label: "pyci", message: "passing", color: "#4c1", title: "acme/widgets on main" });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('aria-label="pyci: passing"');
    expect(svg).toContain("<title>pyci: passing (acme/widgets on main)</title>");
    expect(svg).toContain('fill="#4c1"');
    expect(svg.match(/>pyci</g)).toHaveLength(3); // text and its two shadows
    expect(svg.match(/>passing</g)).toHaveLength(3);
    const width = Number(/^<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    expect(width).toBeGreaterThan(60);
    expect(width).toBeLessThan(120);
  });

  it("grows with its message", () => {
    const width = (message: string) =>
      Number(/ width="(\d+)"/.exec(badgeSvg({ label: "pyci", message, color: "#999", title: "t" }))![1]);
    expect(width("unknown")).toBeGreaterThan(width("error"));
  });

  it("escapes whatever the names hold: no markup, no broken attribute", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (title, message) => {
        const svg = badgeSvg({ label: "pyci", message, color: "#4c1", title });
        const { tags, text } = parts(svg);
        expect(tags.every((t) => TAGS.has(t))).toBe(true);
        expect(text).not.toMatch(/[<>&]/);
        expect(/aria-label="([^"]*)"/.exec(svg)![1]).not.toMatch(/[<>'"]/);
      }),
    );
    const hostile = badgeSvg({
      label: "pyci",
      message: "passing",
      color: "#4c1",
      title: `a/b on x"><script>alert(1)</script>&`,
    });
    expect(hostile).not.toContain("<script>");
    expect(hostile).toContain("x&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;");
  });
});
