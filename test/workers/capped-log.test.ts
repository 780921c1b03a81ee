import { describe, expect, it } from "vitest";
import { cappedLog } from "../../src/workers/capped-log.js";

describe("cappedLog (a worker's bound on one step's output in Redis)", () => {
  it("sends everything as it comes while under the cap, and nothing more at close", () => {
    const sent: string[] = [];
    const log = cappedLog((text) => sent.push(text), 100);
    log.write("line 1\n");
    log.write("line 2\n");
    expect(sent).toEqual(["line 1\n", "line 2\n"]);
    log.close();
    expect(sent).toEqual(["line 1\n", "line 2\n"]);
  });

  it("past the cap sends the head as it comes and only the last cap's worth at close, saying how much was left out", () => {
    const sent: string[] = [];
    const log = cappedLog((text) => sent.push(text), 40);
    const lines = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, "0")}\n`); // 9 bytes each
    for (const line of lines) log.write(line);
    // the head: as many whole lines as fit in 40 bytes, sent before the close
    expect(sent).toEqual(lines.slice(0, 4));
    log.close();
    const tail = sent.slice(5);
    expect(tail).toEqual(lines.slice(-4));
    expect(sent[4]).toBe(`\n[pyci worker: ${(100 - 8) * 9} bytes of this step's output left out here]\n`);
    const bytes = sent.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
    expect(bytes).toBeLessThan(2 * 40 + 100);
  });

  it("bounds what it keeps whatever is printed: a flood of output sends at most twice the cap", () => {
    let bytes = 0;
    const log = cappedLog((text) => (bytes += Buffer.byteLength(text)), 64 * 1024);
    const chunk = `${"x".repeat(1023)}\n`;
    for (let i = 0; i < 20_000; i++) log.write(chunk); // 20 MB
    log.close();
    expect(bytes).toBeLessThanOrEqual(2 * 64 * 1024 + 100);
  });
});
