import type { LogSink } from "../model/log-sink.js";

export interface LastLines extends LogSink {
  /** The last lines written (a line not yet ended included), without their line ends. */
  lines(): string[];
}

/**
 * A log that passes everything on to `sink` and keeps the last `count`
 * lines, for a summary that quotes a tool's own last words ("fatal: …",
 * "ERROR: No matching distribution found for …").
 */
export function lastLines(sink: LogSink, count: number): LastLines {
  let kept: string[] = [];
  let pending = "";
  return {
    write(text) {
      sink.write(text);
      const parts = (pending + text).split(/\r?\n/);
      pending = parts.pop() ?? "";
      kept = [...kept, ...parts].slice(-count);
    },
    lines: () => (pending === "" ? [...kept] : [...kept, pending].slice(-count)),
  };
}
