import { describe, expect, it } from "vitest";
import { LiveClients } from "../../src/web/live-clients.js";

describe("LiveClients", () => {
  it("admits streams under the per-build cap and the total cap, and gives places back once each", () => {
    const live = new LiveClients({ perBuild: 2, total: 3 });
    const a1 = live.admit("a");
    const a2 = live.admit("a");
    expect([a1.admitted, a2.admitted]).toEqual([true, true]);
    expect(live.admit("a")).toEqual({ admitted: false, cap: "per-build", limit: 2 });
    expect(live.admit("b").admitted).toBe(true);
    expect(live.admit("c")).toEqual({ admitted: false, cap: "total", limit: 3 });
    expect([live.open("a"), live.open()]).toEqual([2, 3]);

    if (a1.admitted) {
      a1.release();
      a1.release();
    }
    expect([live.open("a"), live.open()]).toEqual([1, 2]);
    expect(live.admit("c").admitted).toBe(true);
    expect(live.admit("a").admitted, "the total is at its cap again").toBe(false);
  });
});
