import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { BodyBudget, type BodyHold } from "../../src/http/body-budget.js";
import { readLimitedBody } from "../../src/http/read-limited-body.js";

const KiB = 1024;

/** A request body as a stream, with the headers readLimitedBody reads. */
function request(headers: IncomingHttpHeaders = {}): PassThrough & IncomingMessage {
  return Object.assign(new PassThrough(), { headers }) as unknown as PassThrough & IncomingMessage;
}

/** A hold of `budget` that also records every size asked of it. */
function recordingHold(budget: BodyBudget): BodyHold & { asked: number[] } {
  const hold = budget.hold();
  const asked: number[] = [];
  return {
    asked,
    get bytes() {
      return hold.bytes;
    },
    resize: (bytes) => (asked.push(bytes), hold.resize(bytes)),
    release: () => hold.release(),
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("readLimitedBody", () => {
  it("holds a declared length before reading, then reads the body into one buffer of that size", async () => {
    const budget = new BodyBudget(100 * KiB);
    const hold = recordingHold(budget);
    const req = request({ "content-length": String(10 * KiB) });
    let told = 0;
    const body = readLimitedBody(req, { maxBytes: 64 * KiB, hold, deadlineMs: 5000, beforeRead: () => told++ });
    expect([told, budget.held]).toEqual([1, 10 * KiB]);
    req.write(Buffer.alloc(4 * KiB, "a"));
    req.end(Buffer.alloc(6 * KiB, "b"));
    const result = await body;
    expect(result.kind).toBe("complete");
    expect(result.kind === "complete" && result.bytes.toString()).toBe("a".repeat(4 * KiB) + "b".repeat(6 * KiB));
    expect(hold.asked).toEqual([10 * KiB]);
    expect(budget.held, "held until the caller releases it").toBe(10 * KiB);
  });

  it("refuses a declared length that does not fit beside what others hold, reading nothing", async () => {
    const budget = new BodyBudget(100 * KiB);
    budget.hold().resize(95 * KiB);
    const req = request({ "content-length": String(10 * KiB) });
    let told = 0;
    expect(
      await readLimitedBody(req, {
        maxBytes: 64 * KiB,
        hold: budget.hold(),
        deadlineMs: 5000,
        beforeRead: () => told++,
      }),
    ).toEqual({ kind: "over-budget" });
    expect([told, req.listenerCount("data"), budget.held]).toEqual([0, 0, 95 * KiB]);
  });

  it("grows a chunked body's buffer by doubling, holding the old and the new one while it copies", async () => {
    const budget = new BodyBudget(1024 * KiB);
    const hold = recordingHold(budget);
    const req = request();
    const body = readLimitedBody(req, { maxBytes: 512 * KiB, hold, deadlineMs: 5000 });
    for (let i = 0; i < 10; i++) req.write(Buffer.alloc(20 * KiB, String(i)));
    req.end();
    const result = await body;
    expect(result.kind === "complete" && result.bytes.length).toBe(200 * KiB);
    expect(result.kind === "complete" && result.bytes.subarray(190 * KiB).toString()).toBe("9".repeat(10 * KiB));
    // 0 declared, then (old + new while copying → new) 0+64 → 64, 64+128 → 128, 128+256 → 256
    expect(hold.asked).toEqual([0, 64 * KiB, 64 * KiB, 192 * KiB, 128 * KiB, 384 * KiB, 256 * KiB]);
    expect(budget.held).toBe(256 * KiB);
  });

  it("stops a chunked body whose buffer cannot grow within the budget, and leaves the request paused", async () => {
    const budget = new BodyBudget(100 * KiB);
    const hold = budget.hold();
    const req = request();
    const body = readLimitedBody(req, { maxBytes: 512 * KiB, hold, deadlineMs: 5000 });
    req.write(Buffer.alloc(64 * KiB));
    await turn();
    expect(budget.held).toBe(64 * KiB);
    req.write(Buffer.alloc(1));
    expect(await body).toEqual({ kind: "over-budget" });
    expect(req.isPaused()).toBe(true);
    expect(hold.bytes, "what it held before the growth was refused").toBe(64 * KiB);
  });

  it("stops at the cap: declared over it without holding anything, streamed as soon as it passes", async () => {
    const budget = new BodyBudget(1024 * KiB);
    const declared = request({ "content-length": String(65 * KiB) });
    expect(await readLimitedBody(declared, { maxBytes: 64 * KiB, hold: budget.hold(), deadlineMs: 5000 })).toEqual({
      kind: "too-large",
    });
    expect(budget.held).toBe(0);
    const streamed = request();
    const body = readLimitedBody(streamed, { maxBytes: 64 * KiB, hold: budget.hold(), deadlineMs: 5000 });
    streamed.write(Buffer.alloc(64 * KiB));
    streamed.write(Buffer.alloc(1));
    expect(await body).toEqual({ kind: "too-large" });
  });

  it("gives up on a body that does not arrive within the deadline, and on a client that goes away", async () => {
    const budget = new BodyBudget(1024 * KiB);
    const slow = request({ "content-length": "100" });
    const started = Date.now();
    expect(await readLimitedBody(slow, { maxBytes: 64 * KiB, hold: budget.hold(), deadlineMs: 100 })).toEqual({
      kind: "timed-out",
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    const gone = request({ "content-length": "100" });
    const body = readLimitedBody(gone, { maxBytes: 64 * KiB, hold: budget.hold(), deadlineMs: 5000 });
    gone.write("{");
    gone.destroy();
    expect(await body).toEqual({ kind: "aborted" });
    const failed = request();
    const broken = readLimitedBody(failed, { maxBytes: 64 * KiB, hold: budget.hold(), deadlineMs: 5000 });
    failed.destroy(new Error("aborted"));
    expect(await broken).toEqual({ kind: "aborted" });
  });
});
