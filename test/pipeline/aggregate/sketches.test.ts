import { readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DistinctCounter, HLL_STANDARD_ERROR, SpaceSaving } from "../../../pipeline/aggregate/sketches.ts";

const SAMPLES = join(import.meta.dirname, "../../../data/samples");

/** Host and path of each CLF/combined line, split the way awk would: no logbench parser involved. */
function samplePairs(file: string): Array<{ host: string; path: string }> {
  const out: Array<{ host: string; path: string }> = [];
  for (const line of readFileSync(join(SAMPLES, file), "utf8").split("\n")) {
    const m = /^(\S+) \S+ \S+ \[[^\]]*\] "\S+ (\S+)/.exec(line);
    if (m) out.push({ host: m[1]!, path: m[2]! });
  }
  return out;
}

function exactCounts(items: string[]): Map<string, number> {
  const truth = new Map<string, number>();
  for (const i of items) truth.set(i, (truth.get(i) ?? 0) + 1);
  return truth;
}

/** Split into `parts` streams, sketch each, round-trip each through its stored form, merge them all. */
function mergedSketch(items: string[], assign: (i: number) => number, parts: number, capacity: number) {
  const sketches = Array.from({ length: parts }, () => new SpaceSaving(capacity));
  items.forEach((item, i) => {
    sketches[assign(i) % parts]!.add(item);
  });
  const stored = sketches.map((s) => SpaceSaving.deserialize(s.serialize()));
  const merged = new SpaceSaving(capacity);
  for (const s of stored) merged.merge(s);
  return merged;
}

/** The Space-Saving guarantees after merging: present when > N/k, never too low, too high by ≤ N/k. */
function checkBounds(sketch: SpaceSaving, items: string[], capacity: number): void {
  const n = items.length;
  const kept = new Map(sketch.top(capacity).map((r) => [r.value, r]));
  for (const [value, count] of exactCounts(items)) {
    const r = kept.get(value);
    if (count > n / capacity) expect(r, `${value} (${count} of ${n}) is missing`).toBeDefined();
    if (r) {
      expect(r.count).toBeGreaterThanOrEqual(count);
      expect(r.count - count).toBeLessThanOrEqual(n / capacity);
      expect(r.count - r.error).toBeLessThanOrEqual(count);
    } else expect(count).toBeLessThanOrEqual(sketch.absentBound());
  }
  expect(sketch.absentBound()).toBeLessThanOrEqual(n / capacity);
}

describe("SpaceSaving", () => {
  it("keeps its bound through merges of stored sketches, on generated skewed streams", () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 200 }), { minLength: 1, maxLength: 3000 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 5, max: 30 }),
        fc.integer({ min: 1, max: 1000 }),
        (raw, parts, capacity, seed) => {
          // Squaring skews the distribution so some items are heavy and many are rare.
          const items = raw.map((v) => `/p${Math.floor((v * v) / 200)}`);
          const sketch = mergedSketch(items, (i) => (i * seed) >>> 3, parts, capacity);
          checkBounds(sketch, items, capacity);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("keeps its bound over the real NASA paths and hosts, split by host like the bus partitions", () => {
    const pairs = samplePairs("nasa-jul95-insight-variant.log");
    expect(pairs.length).toBeGreaterThan(20_000);
    const partition = (i: number) => [...pairs[i]!.host].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7);
    for (const capacity of [20, 100]) {
      checkBounds(
        mergedSketch(
          pairs.map((p) => p.path),
          partition,
          3,
          capacity,
        ),
        pairs.map((p) => p.path),
        capacity,
      );
      checkBounds(
        mergedSketch(
          pairs.map((p) => p.host),
          partition,
          3,
          capacity,
        ),
        pairs.map((p) => p.host),
        capacity,
      );
    }
  });

  it("merging two sketches that never filled equals one sketch over both streams", () => {
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

  it("adds the other side's minimum for an item it lacks, so a merged count is never too low", () => {
    // a is full with x:5, y:3; b is full with y:4, z:2. x may have had up to 2 events in b.
    const a = new SpaceSaving(2);
    const b = new SpaceSaving(2);
    for (const v of ["x", "x", "x", "x", "x", "y", "y", "y"]) a.add(v);
    for (const v of ["y", "y", "y", "y", "z", "z"]) b.add(v);
    a.merge(b);
    expect(a.top(2)).toEqual([
      { value: "x", count: 7, error: 2 },
      { value: "y", count: 7, error: 0 },
    ]);
    // z (2 + a's minimum 3 = 5) was dropped; the merged sketch is full, so its minimum (7) bounds what is absent.
    expect(a.absentBound()).toBe(7);
    expect(a.absentBound()).toBeLessThanOrEqual(14 / 2);
  });

  it("stays under its size budget with very long values, the dropped counts going into the bound", () => {
    const s = new SpaceSaving(100);
    for (let i = 0; i < 100; i++)
      for (let j = 0; j <= i; j++) s.add(`/${String(i).padStart(3, "0")}${"x".repeat(2000)}`);
    const text = s.serialize();
    expect(text.length).toBeLessThan(64 * 1024);
    const back = SpaceSaving.deserialize(text);
    expect(back.size).toBeLessThan(100);
    expect(back.top(1)[0]!.count).toBe(100);
    // Every item dropped had a true count ≤ the bound.
    expect(back.absentBound()).toBeGreaterThanOrEqual(100 - back.size);
  });

  it("stores each counter in rank order with its value as UTF-8, read back by a hand-written decoder", () => {
    // Values that are ASCII, non-ASCII and a lone surrogate (stored as U+FFFD, as TextEncoder writes it).
    const values = ["/a", "/é", "/\ud800x", "/b", "/日本", "/c"];
    const s = new SpaceSaving(100);
    values.forEach((v, i) => {
      for (let k = 0; k <= i % 3; k++) s.add(v);
    });
    const bytes = Buffer.from(s.serialize(), "base64");
    let at = 0;
    const varint = () => {
      let v = 0;
      for (let shift = 0; ; shift += 7) {
        const b = bytes[at++]!;
        v += (b & 0x7f) * 2 ** shift;
        if (b < 0x80) return v;
      }
    };
    expect([bytes[at++], varint(), varint()]).toEqual([1, 100, 0]);
    const stored: Array<[string, number, number]> = [];
    for (let n = varint(); n > 0; n--) {
      const len = varint();
      const value = bytes.subarray(at, at + len).toString("utf8");
      at += len;
      stored.push([value, varint(), varint()]);
    }
    expect(at).toBe(bytes.length);
    const truth = values.map((v, i) => [v.replace("\ud800", "\ufffd"), (i % 3) + 1, 0] as [string, number, number]);
    truth.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    expect(stored).toEqual(truth);
  });

  it("rejects a truncated stored sketch with a clear error", () => {
    const s = new SpaceSaving(10);
    s.add("/a");
    const text = Buffer.from(s.serialize(), "base64").subarray(0, 4).toString("base64");
    expect(() => SpaceSaving.deserialize(text)).toThrow(/truncated/);
  });
});

describe("DistinctCounter", () => {
  /** 3σ of HyperLogLog's stated standard error, 1.04/√m with m = 2^14 (2.44 %). */
  const TOLERANCE = 3 * HLL_STANDARD_ERROR;

  const mergedHosts = (files: string[]) => {
    const all = files.flatMap((f) => samplePairs(f).map((p) => p.host));
    const parts = Array.from({ length: 5 }, () => new DistinctCounter());
    // The same host in several parts: a sum would overcount.
    all.forEach((h, i) => {
      parts[i % 5]!.add(h);
    });
    const merged = new DistinctCounter();
    for (const p of parts) merged.merge(DistinctCounter.deserialize(p.serialize()));
    return { truth: new Set(all).size, merged: merged.count(), sum: parts.reduce((s, p) => s + p.count(), 0) };
  };

  it("counts the real samples' hosts exactly while few, merged over parts that share hosts", () => {
    const { truth, merged, sum } = mergedHosts(["nasa-jul95-first1000.log", "nasa-aug95-excerpt-broken.log"]);
    expect(truth).toBeGreaterThan(300);
    expect(merged).toBe(truth);
    expect(sum).toBeGreaterThan(truth);
  });

  it("counts a host once whether it came in live or from a stored sketch", () => {
    const hosts = samplePairs("nasa-jul95-first1000.log").map((p) => p.host);
    const live = new DistinctCounter();
    const stored = new DistinctCounter();
    hosts.forEach((h, i) => {
      live.add(h);
      if (i % 2 === 0) stored.add(h);
    });
    const truth = new Set(hosts).size;
    // Live counters merged into a stored one, and the other way round: both sets hold the same hashes.
    const intoStored = DistinctCounter.deserialize(stored.serialize());
    intoStored.merge(live);
    live.merge(DistinctCounter.deserialize(stored.serialize()));
    expect(intoStored.count()).toBe(truth);
    expect(live.count()).toBe(truth);
  });

  it("counts all the real samples' hosts (past the exact range) within 3σ", () => {
    const files = ["nasa-jul95-insight-variant.log", "elastic-apache-combined.log", "nasa-aug95-excerpt-broken.log"];
    const { truth, merged } = mergedHosts(files);
    expect(truth).toBeGreaterThan(4096);
    expect(Math.abs(merged - truth) / truth).toBeLessThanOrEqual(TOLERANCE);
  });

  it("stays within 3σ of its stated error past the exact range, through overlapping merges of stored sketches", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 5_000, max: 150_000 }),
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        (n, parts, salt) => {
          const sketches = Array.from({ length: parts }, () => new DistinctCounter());
          // Each part sees a contiguous slice plus an overlap with the next one.
          for (let p = 0; p < parts; p++) {
            const from = Math.floor((p * n) / parts);
            const to = Math.min(n, Math.floor(((p + 1) * n) / parts) + 500);
            for (let i = from; i < to; i++) sketches[p]!.add(`10.${salt}.${i}`);
          }
          const merged = new DistinctCounter();
          for (const s of sketches) merged.merge(DistinctCounter.deserialize(s.serialize()));
          expect(Math.abs(merged.count() - n) / n).toBeLessThanOrEqual(TOLERANCE);
        },
      ),
      { numRuns: 25 },
    );
  });

  it("stores the dense registers in well under InfluxDB's 64 KB string limit", () => {
    const c = new DistinctCounter();
    for (let i = 0; i < 50_000; i++) c.add(`h${i}`);
    const text = c.serialize();
    expect(text.length).toBeLessThan(64 * 1024);
    expect(DistinctCounter.deserialize(text).count()).toBe(c.count());
  });
});
