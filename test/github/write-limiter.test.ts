import { describe, expect, it } from "vitest";
import { WriteLimiter } from "../../src/github/write-limiter.js";

/** A clock that moves only when told, and a sleep that records its wait and moves the clock by it. */
function fakeTime() {
  let now = 1_000_000;
  const waits: number[] = [];
  return {
    now: () => now,
    advance: (ms: number) => (now += ms),
    waits,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
  };
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("WriteLimiter", () => {
  it("lets a burst of 10 writes through without waiting, then paces the 11th at one a second", async () => {
    const time = fakeTime();
    const limiter = new WriteLimiter({ now: time.now, sleep: time.sleep });
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 11 }, (_, i) => limiter.run("installation:1", async () => void order.push(i))),
    );
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(time.waits).toEqual([1000]);
  });

  it("refills one write per second of quiet, up to the burst", async () => {
    const time = fakeTime();
    const limiter = new WriteLimiter({ now: time.now, sleep: time.sleep });
    for (let i = 0; i < 10; i++) await limiter.run("k", async () => undefined);
    time.advance(3000);
    for (let i = 0; i < 3; i++) await limiter.run("k", async () => undefined);
    expect(time.waits).toEqual([]);
    await limiter.run("k", async () => undefined);
    expect(time.waits).toEqual([1000]);
    time.advance(60_000);
    for (let i = 0; i < 10; i++) await limiter.run("k", async () => undefined);
    expect(time.waits).toEqual([1000]);
  });

  it("sustains at most 60 writes a minute per installation (GitHub allows 80)", async () => {
    const time = fakeTime();
    const limiter = new WriteLimiter({ now: time.now, sleep: time.sleep });
    const start = time.now();
    const sentAt: number[] = [];
    for (let i = 0; i < 200; i++) await limiter.run("k", async () => void sentAt.push(time.now()));
    for (let i = 0; i + 80 < sentAt.length; i++) expect(sentAt[i + 80]! - sentAt[i]!).toBeGreaterThanOrEqual(60_000);
    expect(sentAt.at(-1)! - start).toBe((200 - 10) * 1000);
  });

  it("runs one write of an installation at a time, in order, and never holds another installation back", async () => {
    const limiter = new WriteLimiter();
    const events: string[] = [];
    const a1 = deferred();
    const first = limiter.run("installation:1", async () => {
      events.push("a1 start");
      await a1.promise;
      events.push("a1 end");
    });
    const second = limiter.run("installation:1", async () => void events.push("a2"));
    // installation 2 goes out while installation 1's first write is still open
    await limiter.run("installation:2", async () => void events.push("b1"));
    expect(events).toEqual(["a1 start", "b1"]);
    a1.resolve();
    await Promise.all([first, second]);
    expect(events).toEqual(["a1 start", "b1", "a1 end", "a2"]);
  });

  it("a failed write does not stop the ones queued after it", async () => {
    const limiter = new WriteLimiter();
    const failed = limiter.run("k", async () => {
      throw new Error("502");
    });
    await expect(failed).rejects.toThrow("502");
    await expect(limiter.run("k", async () => "next")).resolves.toBe("next");
  });

  it("sends an opening write (a new build's pending) before the writes waiting, without waiting itself", async () => {
    const time = fakeTime();
    const gate = deferred();
    let sleeping = 0;
    // a sleep that holds until released: the ordinary writes are being paced when the opening one arrives
    const limiter = new WriteLimiter({ now: time.now, sleep: () => (sleeping++, gate.promise) });
    const order: string[] = [];
    const ordinary = Array.from({ length: 12 }, (_, i) => limiter.run("k", async () => void order.push(`final ${i}`)));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toHaveLength(10);
    expect(sleeping).toBe(1);
    await limiter.run("k", async () => void order.push("pending"), { opening: true });
    expect(order.slice(10)).toEqual(["pending"]);
    gate.resolve();
    await Promise.all(ordinary);
    expect(order.slice(10)).toEqual(["pending", "final 10", "final 11"]);
  });

  it("lets opening writes borrow at most 10 writes ahead, which the writes after them wait for", async () => {
    const time = fakeTime();
    const limiter = new WriteLimiter({ now: time.now, sleep: time.sleep });
    for (let i = 0; i < 10; i++) await limiter.run("k", async () => undefined);
    for (let i = 0; i < 10; i++) await limiter.run("k", async () => undefined, { opening: true });
    expect(time.waits).toEqual([]);
    await limiter.run("k", async () => undefined, { opening: true });
    expect(time.waits).toEqual([1000]);
    // the debt is paid back by the next ordinary write: 10 borrowed, then its own token
    await limiter.run("k", async () => undefined);
    expect(time.waits).toEqual([1000, 11_000]);
  });

  it("never sends more than 80 writes in any minute, however opening and ordinary writes mix (GitHub's ceiling)", async () => {
    const time = fakeTime();
    const limiter = new WriteLimiter({ now: time.now, sleep: time.sleep });
    const sentAt: number[] = [];
    for (let i = 0; i < 300; i++) {
      // after a quiet spell: the burst, then a storm of new builds' pending (as much borrowing as there can be), then their results
      const j = i % 100;
      if (j === 0) time.advance(60_000);
      await limiter.run("k", async () => void sentAt.push(time.now()), { opening: j >= 10 && j < 40 });
    }
    for (let i = 0; i + 80 < sentAt.length; i++) expect(sentAt[i + 80]! - sentAt[i]!).toBeGreaterThanOrEqual(60_000);
  });
});
