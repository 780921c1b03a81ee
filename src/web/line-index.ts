import type { LogChunk, LogRange } from "../store/build-store.js";

/** Newline counts are remembered at every multiple of this many bytes of a log. */
export const CHECKPOINT_BYTES = 1024 * 1024;

/** What the index reads logs through (BuildStore). */
export interface LogReader {
  readLogRange(id: string, step: string, range?: LogRange): Promise<LogChunk | undefined>;
}

/**
 * Line numbers of byte offsets in step logs, without reading a whole log per
 * question. Logs only grow (they are appended to, never rewritten, and a build
 * id is never reused), so the number of newlines before each checkpoint, once
 * counted, stays true: a log is scanned once, in CHECKPOINT_BYTES reads, and
 * every later question costs at most one read shorter than a checkpoint.
 * Remembers the checkpoints of the `maxLogs` logs asked about last.
 */
export class LineIndex {
  /** "<id>/<step>" → newlines in bytes [0, k × CHECKPOINT_BYTES), for k = 0, 1, … */
  private readonly checkpoints = new Map<string, number[]>();

  constructor(
    private readonly reader: LogReader,
    private readonly maxLogs = 256,
  ) {}

  /** The 1-based number of the line holding byte `offset` (the line that starts there, at a line start). */
  async lineAt(id: string, step: string, offset: number): Promise<number> {
    const key = `${id}/${step}`;
    const counts = this.checkpoints.get(key) ?? [0];
    this.checkpoints.delete(key);
    this.checkpoints.set(key, counts);
    if (this.checkpoints.size > this.maxLogs) this.checkpoints.delete(this.checkpoints.keys().next().value!);

    const k = Math.floor(offset / CHECKPOINT_BYTES);
    while (counts.length <= k) {
      const last = counts.length - 1;
      const newlines = await this.count(id, step, last * CHECKPOINT_BYTES, (last + 1) * CHECKPOINT_BYTES);
      if (newlines === undefined) break;
      // another question about the same log may have counted this block meanwhile
      if (counts.length === last + 1) counts.push(counts[last]! + newlines);
    }
    const base = Math.min(k, counts.length - 1);
    const rest = (await this.count(id, step, base * CHECKPOINT_BYTES, offset)) ?? 0;
    return counts[base]! + rest + 1;
  }

  /** Newlines in bytes [start, end), or undefined when the log does not reach `end`. */
  private async count(id: string, step: string, start: number, end: number): Promise<number | undefined> {
    if (end <= start) return 0;
    const chunk = await this.reader.readLogRange(id, step, { start, end });
    // a chunk may stop short of `end` by the bytes of a character cut in two: none is a newline
    if (!chunk || chunk.size < end) return undefined;
    return countNewlines(chunk.text);
  }
}

export function countNewlines(text: string): number {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
  return n;
}
