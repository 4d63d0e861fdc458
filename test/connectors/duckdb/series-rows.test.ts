import { describe, expect, it } from "vitest";
import { columnsToRows, foldRepeats, oneValue } from "../../../connectors/duckdb/series-rows.ts";

/** A small seeded generator (mulberry32), so a failure names rows that can be made again. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("foldRepeats", () => {
  it("folds exactly the rows whose time and tags repeat an earlier row's, over enough keys to share hashes", () => {
    // 400 k rows over about 300 k series: a 32-bit hash of that many keys has a few dozen pairs that share one, so
    // telling keys apart by their hash alone would fold rows of different series.
    const next = random(7);
    const n = 400_000;
    const time: number[] = [];
    const host: Array<string | undefined> = [];
    const rank: Array<string | undefined> = [];
    const window: string[] = [];
    const count: number[] = [];
    const bytes: Array<number | undefined> = [];
    for (let i = 0; i < n; i++) {
      time.push(1_700_000_000_000 + Math.floor(next() * 3_000) * 60_000);
      const h = Math.floor(next() * 120);
      host.push(h === 0 ? undefined : h === 1 ? "" : `host-${h}`);
      rank.push(next() < 0.1 ? undefined : String(1 + Math.floor(next() * 10)));
      window.push("1m");
      count.push(i);
      bytes.push(next() < 0.5 ? undefined : i * 10);
    }
    const [rows] = [
      ...columnsToRows([{ measurement: "m", time, tags: { host, rank, window }, fields: { count, bytes } }]).values(),
    ];
    const folded = foldRepeats(rows!);

    // The oracle: a key string per row, the tags in a fixed order, none and "" as one.
    const firstOf = new Map<string, number>();
    const expectCount: number[] = [];
    const expectBytes: Array<number | undefined> = [];
    let repeats = 0;
    const wrong: string[] = [];
    for (let i = 0; i < n; i++) {
      const key = JSON.stringify([time[i], host[i] || null, rank[i] || null]);
      const earlier = firstOf.get(key);
      if ((folded?.[i] ?? 0) !== (earlier === undefined ? 0 : 1)) wrong.push(`row ${i} folded: ${folded?.[i]}`);
      if (earlier === undefined) {
        firstOf.set(key, i);
        expectCount[i] = count[i]!;
        expectBytes[i] = bytes[i];
        continue;
      }
      repeats++;
      expectCount[earlier] = count[i]!;
      if (bytes[i] !== undefined) expectBytes[earlier] = bytes[i];
    }
    expect(repeats).toBeGreaterThan(10_000);
    const got = (name: string) => rows!.fields.get(name)!.values;
    for (const i of firstOf.values()) {
      if (got("count")[i] !== expectCount[i]) wrong.push(`count of row ${i}: ${got("count")[i]}`);
      if (got("bytes")[i] !== expectBytes[i]) wrong.push(`bytes of row ${i}: ${got("bytes")[i]}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    // The writer's own arrays are left as they were.
    expect(count.every((c, i) => c === i)).toBe(true);
  });

  it("returns null when no row repeats, and one value per column only when every row has it", () => {
    const [rows] = [
      ...columnsToRows([
        { measurement: "m", time: [0, 0, 60_000], tags: { a: ["x", "y", "x"] }, fields: { v: [1, 2, 3] } },
      ]).values(),
    ];
    expect(foldRepeats(rows!)).toBeNull();
    expect(oneValue(["x", "x", "x"], 3)).toBe("x");
    expect(oneValue([undefined, "", undefined], 3)).toBe("");
    expect(oneValue(["x", "x"], 3)).toBeUndefined();
    expect(oneValue(["x", "y"], 2)).toBeUndefined();
  });
});
