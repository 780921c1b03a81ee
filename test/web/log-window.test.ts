import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BuildStore, newBuildId, type LogChunk, type LogRange } from "../../src/store/build-store.js";
import { CHECKPOINT_BYTES, LineIndex } from "../../src/web/line-index.js";
import { lastLinesStart, readLogWindow, WINDOW_BYTES, WINDOW_LINES } from "../../src/web/log-window.js";

let dataDir: string;
let store: BuildStore;
let id: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), "pyci-window-"));
  store = new BuildStore(dataDir);
  id = newBuildId();
});
afterEach(() => {
  store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function writeLog(step: string, text: string): void {
  const log = store.openLog(id, step, (t) => t);
  log.write(text);
  log.close();
}

/** Counts what the index reads, to show it reads a log once. */
function countingReader(): {
  reader: { readLogRange(id: string, step: string, range?: LogRange): Promise<LogChunk | undefined> };
  bytes: () => number;
} {
  let bytes = 0;
  return {
    reader: {
      async readLogRange(i, s, range) {
        const chunk = await store.readLogRange(i, s, range);
        bytes += chunk ? chunk.end - chunk.start : 0;
        return chunk;
      },
    },
    bytes: () => bytes,
  };
}

describe("lastLinesStart", () => {
  it("finds where the last n lines begin, a final newline ending the last line", () => {
    expect(lastLinesStart("a\nb\nc\n", 2)).toBe(2);
    expect(lastLinesStart("a\nb\nc", 2)).toBe(2);
    expect(lastLinesStart("a\nb\nc\n", 3)).toBe(0);
    expect(lastLinesStart("\n\n", 1)).toBe(1);
    expect(lastLinesStart("", 1)).toBe(0);
  });
});

describe("LineIndex", () => {
  it("numbers lines across checkpoints, reading a log once however often it is asked", async () => {
    // lines of varying width, with multi-byte characters straddling the checkpoints
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i + 1} ${"é".repeat(i % 37)}🐍`);
    const text = `${lines.join("\n")}\n`;
    writeLog("test", text);
    const { reader, bytes } = countingReader();
    const index = new LineIndex(reader);
    const size = Buffer.byteLength(text);
    expect(size).toBeGreaterThan(2 * CHECKPOINT_BYTES);
    const starts = [0, 1, 999, 30_000, 59_999].map((n) =>
      Buffer.byteLength(
        lines
          .slice(0, n)
          .map((l) => `${l}\n`)
          .join(""),
      ),
    );
    for (const [i, n] of [0, 1, 999, 30_000, 59_999].entries())
      expect(await index.lineAt(id, "test", starts[i]!)).toBe(n + 1);
    expect(await index.lineAt(id, "test", size)).toBe(60_001);
    const once = bytes();
    expect(once).toBeLessThan(size + 6 * CHECKPOINT_BYTES);
    await index.lineAt(id, "test", starts[4]!);
    expect(bytes() - once).toBeLessThanOrEqual(CHECKPOINT_BYTES);
  });
});

describe("readLogWindow", () => {
  it("shows a short log whole, from line 1", async () => {
    writeLog("test", "one\ntwo\n");
    const window = await readLogWindow(store, new LineIndex(store), id, "test");
    expect(window).toEqual({
      step: "test",
      text: "one\ntwo\n",
      start: 0,
      end: 8,
      size: 8,
      firstLine: 1,
      partial: false,
    });
    expect(await readLogWindow(store, new LineIndex(store), id, "check")).toBeUndefined();
  });

  it("shows the tail of a big log from a line start, numbered as in the whole log, and each window before it", async () => {
    const lines = Array.from({ length: 40_000 }, (_, i) => `line ${i + 1} ${"x".repeat(i % 50)}`);
    writeLog("test", `${lines.join("\n")}\n`);
    const index = new LineIndex(store);
    const tail = (await readLogWindow(store, index, id, "test"))!;
    expect(Buffer.byteLength(tail.text)).toBeLessThanOrEqual(WINDOW_BYTES);
    expect(tail.text.endsWith(`line 40000 ${"x".repeat(39_999 % 50)}\n`)).toBe(true);
    const first = tail.text.split("\n")[0]!;
    expect(first).toBe(lines[tail.firstLine - 1]);
    expect(tail.end).toBe(tail.size);
    // earlier windows join up with it, line for line, back to the start
    let window = tail;
    const seen = [tail.text];
    while (window.start > 0) {
      const before = (await readLogWindow(store, index, id, "test", window.start))!;
      expect(before.end).toBe(window.start);
      expect(before.text.split("\n")[0]).toBe(lines[before.firstLine - 1]);
      expect(before.firstLine + before.text.split("\n").length - 1).toBe(window.firstLine);
      seen.unshift(before.text);
      window = before;
    }
    expect(window.firstLine).toBe(1);
    expect(seen.join("")).toBe(`${lines.join("\n")}\n`);
  });

  it("keeps at most WINDOW_LINES lines, and a line longer than the window is shown in part", async () => {
    writeLog("many", "\n".repeat(WINDOW_LINES * 3));
    const many = (await readLogWindow(store, new LineIndex(store), id, "many"))!;
    expect(many.text).toBe("\n".repeat(WINDOW_LINES));
    expect(many.firstLine).toBe(WINDOW_LINES * 2 + 1);
    writeLog("long", `first\n${"y".repeat(WINDOW_BYTES * 2)}`);
    const long = (await readLogWindow(store, new LineIndex(store), id, "long"))!;
    expect(long).toMatchObject({ partial: true, firstLine: 2, start: 6 + WINDOW_BYTES });
  });
});
