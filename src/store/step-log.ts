import { closeSync, openSync, writeSync } from "node:fs";
import type { LogSink } from "../model/log-sink.js";

/** Default per-step cap on stored output (CI_STEP_OUTPUT_CAP); past it the log keeps its head and its tail. */
export const STEP_LOG_CAP_BYTES = 32 * 1024 * 1024;

export interface StepLog extends LogSink {
  /** Flushes a pending partial line, writes the kept tail and closes the file. */
  close(): void;
}

/** A line longer than this is stored (and masked) in pieces. */
const MAX_PENDING = 64 * 1024;

/**
 * A step's log file. Output is masked line by line (a secret split across
 * two chunks is still caught) and capped in size: the first half of the cap
 * is written as it comes, then only the last half is kept, in memory bounded
 * by the cap, and written at close after a note saying how much was left
 * out. A test that prints gigabytes fills neither the disk nor the memory.
 * `listener` sees exactly what is stored, in order (the tail at close).
 */
export function openStepLog(
  path: string,
  mask: (text: string) => string,
  listener?: (text: string) => void,
  capBytes = STEP_LOG_CAP_BYTES,
): StepLog {
  const fd = openSync(path, "a", 0o600);
  const headCap = Math.floor(capBytes / 2);
  const tail = new TailBuffer(capBytes - headCap);
  let pending = "";
  let written = 0;
  let headFull = false;
  let total = 0;
  let closed = false;

  let atLineStart = true;

  const store = (text: string) => {
    if (text === "") return;
    writeSync(fd, text);
    listener?.(text);
    atLineStart = text.endsWith("\n");
  };

  const emit = (text: string) => {
    if (text === "") return;
    const masked = Buffer.from(mask(text));
    total += masked.length;
    if (headFull) {
      tail.push(masked);
      return;
    }
    const room = headCap - written;
    if (masked.length <= room) {
      store(masked.toString());
      written += masked.length;
      return;
    }
    // the head ends at a line end when there is one, so that no line (nor a masked secret) is cut
    const cut = headCut(masked, room, written > 0 && atLineStart);
    store(masked.subarray(0, cut).toString());
    written += cut;
    headFull = true;
    tail.push(masked.subarray(cut));
  };

  return {
    write(text) {
      if (closed) return;
      pending += text;
      const cut = pending.lastIndexOf("\n");
      if (cut >= 0) {
        emit(pending.slice(0, cut + 1));
        pending = pending.slice(cut + 1);
      }
      if (pending.length > MAX_PENDING) {
        emit(pending);
        pending = "";
      }
    },
    close() {
      if (closed) return;
      emit(pending);
      pending = "";
      const kept = tail.take();
      const omitted = total - written - kept.length;
      if (omitted > 0) {
        const note = `${atLineStart ? "" : "\n"}[pyci: ${omitted} bytes of output omitted here; the step printed ${total} bytes, of which the first ${written} and the last ${kept.length} are kept (cap ${capBytes} bytes per step, CI_STEP_OUTPUT_CAP)]\n`;
        store(note);
      }
      store(kept.toString());
      closed = true;
      closeSync(fd);
    },
  };
}

/**
 * Bytes of `chunk` that go into the head: up to its last newline within
 * `room`; else none when the head already ends a line; else `room`, at a
 * character boundary.
 */
function headCut(chunk: Buffer, room: number, headEndsLine: boolean): number {
  const newline = chunk.lastIndexOf(0x0a, room - 1);
  if (newline >= 0) return newline + 1;
  return headEndsLine ? 0 : charBoundary(chunk, room);
}

/** The largest index ≤ `at` that does not split a UTF-8 character. */
function charBoundary(chunk: Buffer, at: number): number {
  let i = Math.min(at, chunk.length);
  while (i > 0 && i < chunk.length && (chunk[i]! & 0xc0) === 0x80) i -= 1;
  return i;
}

/**
 * The last `cap` bytes pushed into it, held as the chunks that arrived
 * (memory stays within the cap plus one chunk). `take` starts the tail at a
 * line start when it can, so the first kept line is whole.
 */
class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly cap: number) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0 || this.cap <= 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - this.chunks[0]!.length >= this.cap) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  take(): Buffer {
    const all = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    if (all.length <= this.cap) return all;
    const start = all.length - this.cap;
    const newline = all.indexOf(0x0a, start - 1);
    // a whole first line when one starts in the first half of the kept bytes
    if (newline >= 0 && newline < start + this.cap / 2) return all.subarray(newline + 1);
    return all.subarray(charStart(all, start));
  }
}

/** The smallest index ≥ `at` that starts a UTF-8 character. */
function charStart(chunk: Buffer, at: number): number {
  let i = at;
  while (i < chunk.length && (chunk[i]! & 0xc0) === 0x80) i += 1;
  return i;
}
