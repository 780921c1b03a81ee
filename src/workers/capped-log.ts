import type { LogSink } from "../model/log-sink.js";

export interface CappedLog extends LogSink {
  /** Sends the kept tail, after a line saying how much was left out before it. */
  close(): void;
}

/**
 * A worker's bound on one step's output in Redis: the first `capBytes` are sent as they come (the
 * live page keeps up), then only the last `capBytes` are kept, in memory, and sent at close. A test
 * that prints gigabytes fills neither Redis nor the worker's memory. The worker's cap is twice the
 * server's CI_STEP_OUTPUT_CAP, so that what the server stores (its own head and tail) is the same as
 * for a local build unless the output passes twice the cap.
 */
export function cappedLog(send: (text: string) => void, capBytes: number): CappedLog {
  let sent = 0;
  let full = false;
  const tail: string[] = [];
  let tailBytes = 0;
  let leftOut = 0;
  return {
    write(text) {
      const bytes = Buffer.byteLength(text);
      if (!full && sent + bytes <= capBytes) {
        send(text);
        sent += bytes;
        return;
      }
      full = true;
      tail.push(text);
      tailBytes += bytes;
      while (tailBytes > capBytes && tail.length > 1) {
        const dropped = Buffer.byteLength(tail.shift()!);
        tailBytes -= dropped;
        leftOut += dropped;
      }
    },
    close() {
      if (leftOut > 0) send(`\n[pyci worker: ${leftOut} bytes of this step's output left out here]\n`);
      for (const text of tail.splice(0)) send(text);
    },
  };
}
