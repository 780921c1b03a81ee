import { closeSync, openSync, writeSync } from "node:fs";
import type { LogSink } from "../pipeline/types.js";

/** Per-step cap on stored output; past it the log keeps its head and notes how much was dropped. */
export const STEP_LOG_CAP_BYTES = 32 * 1024 * 1024;

export interface StepLog extends LogSink {
  /** Flushes a pending partial line and closes the file. */
  close(): void;
}

/**
 * A step's log file. Output is masked line by line (a secret split across
 * two chunks is still caught) and capped in size. `listener` sees exactly
 * what is stored.
 */
export function openStepLog(
  path: string,
  mask: (text: string) => string,
  listener?: (text: string) => void,
  capBytes = STEP_LOG_CAP_BYTES,
): StepLog {
  const fd = openSync(path, "a", 0o600);
  let pending = "";
  let written = 0;
  let dropped = 0;
  let closed = false;

  const emit = (text: string) => {
    if (text === "") return;
    const masked = mask(text);
    const bytes = Buffer.byteLength(masked);
    if (written + bytes > capBytes) {
      dropped += bytes;
      return;
    }
    writeSync(fd, masked);
    written += bytes;
    listener?.(masked);
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
      // a very long line without a newline is flushed anyway
      if (pending.length > 64 * 1024) {
        emit(pending);
        pending = "";
      }
    },
    close() {
      if (closed) return;
      emit(pending);
      pending = "";
      if (dropped > 0) {
        const note = `\n[pyci: output truncated, ${dropped} more bytes were not stored (cap ${capBytes} bytes per step)]\n`;
        writeSync(fd, note);
        listener?.(note);
      }
      closed = true;
      closeSync(fd);
    },
  };
}
