import { describe, expect, it } from "vitest";
import { BodyBudget } from "../../src/http/body-budget.js";

describe("BodyBudget", () => {
  it("lets holds grow together up to the limit, and refuses growth past it without changing anything", () => {
    const budget = new BodyBudget(100);
    const a = budget.hold();
    const b = budget.hold();
    expect(a.resize(60)).toBe(true);
    expect(b.resize(50)).toBe(false);
    expect([a.bytes, b.bytes, budget.held]).toEqual([60, 0, 60]);
    expect(b.resize(40)).toBe(true);
    expect(budget.held).toBe(100);
    expect(a.resize(61)).toBe(false);
    expect(a.bytes).toBe(60);
  });

  it("always lets a hold shrink, and a shrunk hold's room goes to others", () => {
    const budget = new BodyBudget(100);
    const a = budget.hold();
    const b = budget.hold();
    a.resize(100);
    expect(b.resize(1)).toBe(false);
    expect(a.resize(30)).toBe(true);
    expect(b.resize(70)).toBe(true);
    expect(budget.held).toBe(100);
  });

  it("gives everything back on release, once: a second release, or a resize after it, changes nothing", () => {
    const budget = new BodyBudget(100);
    const a = budget.hold();
    const b = budget.hold();
    a.resize(70);
    b.resize(30);
    a.release();
    a.release();
    expect([a.bytes, budget.held]).toEqual([0, 30]);
    expect(a.resize(10)).toBe(false);
    expect(budget.held).toBe(30);
    b.release();
    expect(budget.held).toBe(0);
  });
});
