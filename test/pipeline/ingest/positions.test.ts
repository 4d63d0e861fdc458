/**
 * The position journal: what a restart reads is the last save that completed, whatever a crash left in the file
 * after it. Crashes are played by editing the journal's bytes as a torn write would leave them: the bytes that a
 * save changed (found by comparing the file before and after it, not by asking the journal) are put back, in
 * part, to what they were.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type FilePosition, PositionStore, readPositions } from "../../../pipeline/ingest/positions.ts";

function position(n: number): FilePosition {
  return {
    dev: 2049,
    ino: 1000 + (n % 3),
    offset: n * 4096,
    line: n * 40,
    done: false,
    savedAt: 1_700_000_000_000 + n,
    marks: { events: { "0": n * 100, "1": n * 90, "2": n * 80 }, deadLetters: { "0": n } },
  };
}

function setup() {
  const state = join(mkdtempSync(join(tmpdir(), "logbench-positions-")), "state");
  const journal = join(state, "positions", "spool.journal");
  return { state, journal, open: () => new PositionStore(state, "spool") };
}

/** Saves position n of /logs/a.log and returns the byte range of the journal that the save changed. */
function saveAndDiff(store: PositionStore, journal: string, n: number): { start: number; end: number } {
  const before = readFileSync(journal);
  store.set("/logs/a.log", position(n));
  const after = readFileSync(journal);
  expect(after.length).toBe(before.length);
  let start = 0;
  while (start < after.length && after[start] === before[start]) start++;
  let end = after.length;
  while (end > start && after[end - 1] === before[end - 1]) end--;
  expect(end, "the save changed the file").toBeGreaterThan(start);
  return { start, end };
}

describe("PositionStore (journal)", () => {
  it("reads back the last save after many saves, in a file that never grows", () => {
    const { journal, open } = setup();
    const store = open();
    expect(store.fresh).toBe(true);
    store.set("/logs/a.log", position(0));
    const size = statSync(journal).size;
    for (let n = 1; n <= 500; n++) store.set(`/logs/${n % 5}.log`, position(n));
    store.delete("/logs/0.log");
    expect(statSync(journal).size).toBe(size);

    const again = open();
    expect(again.fresh).toBe(false);
    expect(again.get("/logs/a.log")).toEqual(position(0));
    expect(again.get("/logs/0.log")).toBeUndefined();
    for (let k = 1; k < 5; k++) expect(again.get(`/logs/${k}.log`)).toEqual(position(500 - ((500 - k) % 5)));
    expect(again.last).toBeUndefined(); // the latest key was deleted
  });

  for (const kept of [0, 1, 0.5, 0.95]) {
    it(`ignores a save torn after ${Math.round(kept * 100)} % of its bytes and goes on after the last whole one`, () => {
      const { state, journal, open } = setup();
      const store = open();
      for (let n = 0; n < 70; n++) store.set("/logs/a.log", position(n)); // wrapped past the end once
      const before = readFileSync(journal);
      const { start, end } = saveAndDiff(store, journal, 70);
      const torn = readFileSync(journal);
      const cut = start + Math.max(1, Math.floor((end - start) * kept));
      if (kept < 1) before.copy(torn, cut, cut, end);
      else torn[end - 1] = torn[end - 1]! ^ 0x01; // every byte written but the last one flipped
      writeFileSync(journal, torn);

      expect(readPositions(state, "spool")?.files["/logs/a.log"]).toEqual(position(69));
      const restarted = open();
      expect(restarted.get("/logs/a.log")).toEqual(position(69));
      restarted.set("/logs/a.log", position(71));
      expect(open().get("/logs/a.log")).toEqual(position(71));
    });
  }

  it("rejects a record whose payload was changed, even when it is still valid JSON", () => {
    const { journal, open } = setup();
    const store = open();
    store.set("/logs/a.log", position(1));
    const { start, end } = saveAndDiff(store, journal, 2);
    const bytes = readFileSync(journal);
    const text = bytes.subarray(start, end).toString("latin1");
    const at = text.indexOf('"offset":8192');
    expect(at).toBeGreaterThan(0);
    bytes[start + at + '"offset":819'.length] = "3".charCodeAt(0); // 8192 → 8193
    writeFileSync(journal, bytes);
    expect(open().get("/logs/a.log")).toEqual(position(1));
  });

  it("finds no state in a journal of garbage", () => {
    const { state, journal, open } = setup();
    open().set("/logs/a.log", position(1));
    const bytes = readFileSync(journal);
    let seed = 7;
    for (let i = 0; i < bytes.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      bytes[i] = seed >>> 24;
    }
    writeFileSync(journal, bytes);
    expect(readPositions(state, "spool")).toBeNull();
    expect(open().fresh).toBe(true);
  });

  it("holds a state larger than the journal by growing it, and keeps the newest", () => {
    const { journal, open } = setup();
    const store = open();
    const many = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`/var/log/nginx/${"very-long-name-".repeat(8)}${i}.log`, position(i)]),
    );
    store.update(many);
    const grown = statSync(journal).size;
    expect(grown).toBeGreaterThan(256 * 1024);
    for (let n = 0; n < 10; n++) store.set("/logs/a.log", position(n));
    expect(statSync(journal).size).toBe(grown);
    const again = open();
    expect(again.entries().length).toBe(401);
    expect(again.get("/logs/a.log")).toEqual(position(9));
    expect(again.get(Object.keys(many)[399]!)).toEqual(position(399));
  });

  it("takes over a state saved by an older version as JSON", () => {
    const { state, journal, open } = setup();
    const legacy = join(state, "positions", "spool.json");
    const store = open(); // creates the folder
    expect(store.fresh).toBe(true);
    writeFileSync(legacy, JSON.stringify({ files: { "/logs/a.log": position(3) }, last: "/logs/a.log" }));
    const old = open();
    expect(old.fresh).toBe(false);
    expect(old.get("/logs/a.log")).toEqual(position(3));
    old.set("/logs/b.log", position(4));
    expect(existsSync(legacy)).toBe(false);
    expect(existsSync(journal)).toBe(true);
    const again = open();
    expect(again.get("/logs/a.log")).toEqual(position(3));
    expect(again.get("/logs/b.log")).toEqual(position(4));
  });
});
