import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DistinctCounter, SpaceSaving } from "../../../pipeline/aggregate/sketches.ts";

describe("SpaceSaving", () => {
  it("finds every item more frequent than N/m, with counts that never underestimate", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { minLength: 1, maxLength: 2000 }), (items) => {
        const sketch = new SpaceSaving(20);
        const truth = new Map<string, number>();
        for (const i of items) {
          sketch.add(`/p${i}`);
          truth.set(`/p${i}`, (truth.get(`/p${i}`) ?? 0) + 1);
        }
        const top = new Map(sketch.top(20).map((r) => [r.value, r]));
        for (const [value, count] of truth) {
          if (count > items.length / 20) expect(top.has(value)).toBe(true);
          const r = top.get(value);
          if (r) {
            expect(r.count).toBeGreaterThanOrEqual(count);
            expect(r.count - r.error).toBeLessThanOrEqual(count);
          }
        }
      }),
    );
  });

  it("is exact while distinct items fit, and merging two sketches equals one sketch over both streams", () => {
    const a = new SpaceSaving(50);
    const b = new SpaceSaving(50);
    const both = new SpaceSaving(50);
    for (let i = 0; i < 300; i++) {
      const item = `/x${i % 7}`;
      (i % 2 ? a : b).add(item);
      both.add(item);
    }
    a.merge(b);
    expect(a.top(7)).toEqual(both.top(7));
    expect(both.top(1)[0]).toEqual({ value: "/x0", count: 43, error: 0 });
  });
});

describe("DistinctCounter", () => {
  it("counts exactly up to a few thousand items", () => {
    const c = new DistinctCounter();
    for (let i = 0; i < 3000; i++) c.add(`host-${i % 2500}`);
    expect(c.count()).toBe(2500);
  });

  it("stays within 3 % past the exact range, and merge equals the union", () => {
    const a = new DistinctCounter();
    const b = new DistinctCounter();
    for (let i = 0; i < 60_000; i++) a.add(`10.0.${i >> 8}.${i & 255}-a`);
    for (let i = 30_000; i < 100_000; i++) b.add(`10.0.${i >> 8}.${i & 255}-a`);
    expect(Math.abs(a.count() - 60_000) / 60_000).toBeLessThan(0.03);
    a.merge(b);
    expect(Math.abs(a.count() - 100_000) / 100_000).toBeLessThan(0.03);
  });
});
