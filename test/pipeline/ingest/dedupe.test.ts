/** The polling sources' seen-key store: durable across reopen, a torn tail dropped, bounded, compacted. */
import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DedupeStore } from "../../../pipeline/ingest/dedupe.ts";

const fileOf = (dir: string) => join(dir, "dedupe", "pop.ndjson");

describe("DedupeStore", () => {
  it("keeps keys and the last watermarks across a reopen, and drops a torn last line", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dedupe-"));
    const store = new DedupeStore(dir, "pop", 100);
    expect(store.existed).toBe(false);
    store.add(["a", "b"], { "0": 3 }, 10);
    store.add(["c"], { "0": 5, "1": 1 }, 12);
    appendFileSync(fileOf(dir), '{"savedAt":1,"marks":{"0":9},"keys":["tor'); // kill -9 mid-write
    const again = new DedupeStore(dir, "pop", 100);
    expect(again.existed).toBe(true);
    expect(["a", "b", "c", "d"].map((k) => again.has(k))).toEqual([true, true, true, false]);
    expect(again.marks).toEqual({ "0": 5, "1": 1 });
    expect(again.lastTs).toBe(12);
    // The torn tail is cut, so the next line is not glued to it.
    again.add(["d"], { "0": 6 }, 13);
    expect(new DedupeStore(dir, "pop", 100).has("d")).toBe(true);
  });

  it("forgets the oldest keys past its cap, the same way after a reopen", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dedupe-"));
    const store = new DedupeStore(dir, "pop", 3);
    store.add(["k1", "k2"], {}, 0);
    store.add(["k3", "k4", "k5"], {}, 0);
    expect(store.size).toBe(3);
    expect(store.evicted).toBe(2);
    const reopened = new DedupeStore(dir, "pop", 3);
    expect(["k1", "k2", "k3", "k4", "k5"].map((k) => reopened.has(k))).toEqual([false, false, true, true, true]);
  });

  it("rewrites its file as one line once it holds far more lines than keys", () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dedupe-"));
    const store = new DedupeStore(dir, "pop", 10);
    for (let i = 0; i < 1500; i++) store.add([`k${i % 5}`], { "0": i }, i);
    const lines = readFileSync(fileOf(dir), "utf8").trim().split("\n");
    expect(lines.length).toBeLessThan(1001);
    const reopened = new DedupeStore(dir, "pop", 10);
    expect(reopened.size).toBe(5);
    expect(reopened.marks).toEqual({ "0": 1499 });
  });
});
