import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { queryRows, withDuckDb } from "../../../connectors/duckdb/connection.ts";
import { createDuckDbSeriesStore } from "../../../connectors/duckdb/series-store.ts";
import { isLogbenchError } from "../../../connectors/errors.ts";
import type { SeriesPoint } from "../../../connectors/types.ts";
import { seriesStoreContract } from "../../contracts/series-store.ts";

let dir: string;
let n = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "logbench-duckdb-series-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

seriesStoreContract("duckdb file", async () => {
  const file = join(dir, `contract-${++n}`, "series.duckdb");
  return {
    store: createDuckDbSeriesStore({ type: "duckdb", file }, silentContext()),
    cleanup: async () => {},
  };
});

const ROOT = resolve(import.meta.dirname, "../../..");
const CONNECTION = join(ROOT, "connectors/duckdb/connection.ts");

/** Runs TypeScript in a separate Node process (its own DuckDB file locks), one JSON value per stdout line. */
function child(code: string): { proc: ChildProcess; lines: AsyncIterable<string>; exited: Promise<number | null> } {
  const proc = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", code], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((done) => proc.on("exit", done));
  return { proc, lines: createInterface({ input: proc.stdout! }), exited };
}

describe("DuckDB series store shared with other processes", () => {
  it("lets another process read the file while the store writes, and it sees only whole writes", async () => {
    const file = join(dir, "shared", "series.duckdb");
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext());
    const batch = (b: number): SeriesPoint[] =>
      Array.from({ length: 500 }, (_, i) => ({
        measurement: "requests",
        tags: { window: "60s", source: "nasa" },
        fields: { count: 1 },
        time: Date.UTC(1995, 6, 1) + (b * 500 + i) * 60_000,
      }));
    await store.write(batch(0));

    // The reader opens read-only, counts, closes, as `logbench query` and notebook loaders do, until the writer
    // leaves a stop file; the writer waits for a read after each write, so reads and writes interleave however
    // slow the machine is.
    const stopFile = join(dir, "shared", "stop-reading");
    const reader = child(`
      import { existsSync } from "node:fs";
      import { withDuckDb, queryRows } from ${JSON.stringify(CONNECTION)};
      while (!existsSync(${JSON.stringify(stopFile)})) {
        const rows = await withDuckDb(${JSON.stringify(file)}, { readOnly: true }, (c) =>
          queryRows(c, "select count(*) as n, sum(count) as s from requests"));
        console.log(JSON.stringify(rows[0]));
        await new Promise((r) => setTimeout(r, 20));
      }
    `);
    const seen: Array<{ n: number; s: number }> = [];
    const collecting = (async () => {
      for await (const line of reader.lines) seen.push(JSON.parse(line));
    })();
    const readAfter = async (count: number) => {
      const deadline = Date.now() + 60_000;
      while (seen.length <= count) {
        if (Date.now() > deadline) throw new Error(`the reader made no read after write ${count}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    for (let b = 1; b <= 12; b++) {
      const before = seen.length;
      await store.write(batch(b));
      await readAfter(before);
    }
    writeFileSync(stopFile, "");
    await collecting;
    expect(await reader.exited).toBe(0);

    expect(seen.length).toBeGreaterThan(3);
    // Every read saw a whole number of 500-point writes: no half-written transaction is ever visible.
    expect(seen.every((r) => r.n % 500 === 0 && r.s === r.n)).toBe(true);
    expect(new Set(seen.map((r) => r.n)).size).toBeGreaterThan(1);
    const all = await store.query({ measurement: "requests" });
    expect(all).toHaveLength(13 * 500);
  });

  it("hands the file to a reader in another process while it writes without pause", async () => {
    const file = join(dir, "busy", "series.duckdb");
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext());
    const point = (b: number): SeriesPoint[] => [
      {
        measurement: "requests",
        tags: { window: "60s" },
        fields: { count: 1 },
        time: Date.UTC(1995, 6, 1) + b * 60_000,
      },
    ];
    await store.write(point(0));
    // The store keeps the file open while writes keep coming (it is never idle here): the reader gets it only
    // because it asks (the .wanted signal), within its own default 10 s lock wait, three times over.
    const reader = child(`
      import { withDuckDb, queryRows } from ${JSON.stringify(CONNECTION)};
      for (let i = 0; i < 3; i++) {
        const rows = await withDuckDb(${JSON.stringify(file)}, { readOnly: true }, (c) =>
          queryRows(c, "select count(*) as n from requests"));
        console.log(JSON.stringify(rows[0]));
      }
    `);
    const seen: Array<{ n: number }> = [];
    const collecting = (async () => {
      for await (const line of reader.lines) seen.push(JSON.parse(line));
    })();
    let b = 1;
    let exit: number | null | undefined;
    reader.exited.then((code) => {
      exit = code;
    });
    const deadline = Date.now() + 60_000;
    while (exit === undefined && Date.now() < deadline) await store.write(point(b++));
    await collecting;
    expect(await reader.exited).toBe(0);
    expect(seen).toHaveLength(3);
    // Each read saw a whole number of writes, and the writes went on between them.
    for (const r of seen) expect(r.n).toBeGreaterThanOrEqual(1);
    expect(await store.query({ measurement: "requests" })).toHaveLength(b);
    await store.close();
  });

  it("fails UNAVAILABLE with a clear message when another process keeps the file past the wait", async () => {
    const file = join(dir, "held", "series.duckdb");
    await withDuckDb(file, {}, (c) => c.run("create table requests (time TIMESTAMP)"));
    const holder = child(`
      import { withDuckDb } from ${JSON.stringify(CONNECTION)};
      await withDuckDb(${JSON.stringify(file)}, {}, async () => {
        console.log("holding");
        await new Promise((r) => setTimeout(r, 3000));
      });
    `);
    const iterator = holder.lines[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toBe("holding");
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext(), { lockTimeoutMs: 400 });
    const started = Date.now();
    const err = await store.write([{ measurement: "requests", tags: {}, fields: { count: 1 }, time: 0 }]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(isLogbenchError(err, "UNAVAILABLE")).toBe(true);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(/another process/);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    expect(await holder.exited).toBe(0);
    // Once the other process is gone, the same write goes through.
    await store.write([{ measurement: "requests", tags: {}, fields: { count: 1 }, time: 0 }]);
    expect(await store.query({ measurement: "requests" })).toEqual([
      { measurement: "requests", tags: {}, fields: { count: 1 }, time: 0 },
    ]);
  });

  it("keeps one readable table per measurement: time as TIMESTAMP, tags as VARCHAR, integer fields as BIGINT", async () => {
    const file = join(dir, "layout", "series.duckdb");
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext());
    await store.write([{ measurement: "requests", tags: { window: "60s" }, fields: { count: 3 }, time: 60_000 }]);
    await store.write([
      { measurement: "requests", tags: { window: "60s", source: "s" }, fields: { ratio: 0.5 }, time: 120_000 },
    ]);
    const rows = await withDuckDb(file, { readOnly: true }, (c) =>
      queryRows(c, "select column_name, data_type from duckdb_columns() where table_name = 'requests' order by 1"),
    );
    expect(rows).toEqual([
      { column_name: "count", data_type: "BIGINT" },
      { column_name: "ratio", data_type: "DOUBLE" },
      { column_name: "source", data_type: "VARCHAR" },
      { column_name: "time", data_type: "TIMESTAMP" },
      { column_name: "window", data_type: "VARCHAR" },
    ]);
    const data = await withDuckDb(file, { readOnly: true }, (c) =>
      queryRows(c, "select strftime(time, '%H:%M') as t, count, source from requests order by time"),
    );
    expect(data).toEqual([
      { t: "00:01", count: 3, source: null },
      { t: "00:02", count: null, source: "s" },
    ]);
    // A fractional value for an integer field widens the column instead of failing the write.
    await store.write([{ measurement: "requests", tags: { window: "60s" }, fields: { count: 2.5 }, time: 60_000 }]);
    const widened = await store.query({ measurement: "requests", to: 100_000 });
    expect(widened).toEqual([
      { measurement: "requests", tags: { window: "60s" }, fields: { count: 2.5 }, time: 60_000 },
    ]);
  });
});

describe("DuckDB series store: a write is one transaction", () => {
  it("writes nothing of any measurement when DuckDB refuses a later one's statement, and the next write goes through", async () => {
    const file = join(dir, "atomic", "series.duckdb");
    // A table made by someone else, with a constraint the store does not know of: only DuckDB can refuse it, in
    // the script that merges every measurement after the first one's merge has run.
    await withDuckDb(file, {}, async (c) => {
      await c.run(
        'CREATE TABLE requests_by_status (time TIMESTAMP NOT NULL, "window" VARCHAR, count BIGINT CHECK (count < 100))',
      );
      await c.run("COMMENT ON COLUMN requests_by_status.\"window\" IS 'logbench:tag'");
    });
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext());
    const ok: SeriesPoint = { measurement: "requests", tags: { window: "60s" }, fields: { count: 1 }, time: 60_000 };
    const refused: SeriesPoint = {
      measurement: "requests_by_status",
      tags: { window: "60s" },
      fields: { count: 500 },
      time: 60_000,
    };
    const err = await store.write([ok, refused]).then(
      () => null,
      (e: unknown) => e,
    );
    expect(String(err)).toMatch(/writing 2 points to DuckDB file .*CHECK constraint/is);
    expect(await store.query({ measurement: "requests" })).toEqual([]);
    expect(await store.query({ measurement: "requests_by_status" })).toEqual([]);
    // Rolled back whole: the next write of both finds no transaction or temp table left behind.
    await store.write([ok, { ...refused, fields: { count: 5 } }]);
    expect(await store.query({ measurement: "requests" })).toEqual([ok]);
    expect(await store.query({ measurement: "requests_by_status" })).toEqual([{ ...refused, fields: { count: 5 } }]);
    await store.close();
  });
});

describe("DuckDB series store: point checks and merging", () => {
  it("checks tag and field names, drops empty tags, and merges points of one series within a write", async () => {
    const store = createDuckDbSeriesStore(
      { type: "duckdb", file: join(dir, "names", "series.duckdb") },
      silentContext(),
    );
    const bad: SeriesPoint[] = [
      { measurement: "requests", tags: { count: "x" }, fields: { count: 1 }, time: 0 },
      { measurement: "requests", tags: { Time: "x" }, fields: { count: 1 }, time: 0 },
      { measurement: "requests", tags: {}, fields: { TIME: 1 }, time: 0 },
      { measurement: "requests", tags: { "": "x" }, fields: { count: 1 }, time: 0 },
      { measurement: "", tags: {}, fields: { count: 1 }, time: 0 },
      { measurement: "requests", tags: {}, fields: { count: 1 }, time: Number.NaN },
    ];
    for (const p of bad) {
      const err = await store.write([p]).then(
        () => null,
        (e: unknown) => e,
      );
      expect(isLogbenchError(err, "BAD_REQUEST"), `${JSON.stringify(p)}: ${String(err)}`).toBe(true);
    }
    // Names that plain objects inherit are names like any other (a "constructor" tag is not also a field).
    await store.write([
      { measurement: "requests", tags: { constructor: "c", window: "60s", source: "" }, fields: { count: 1 }, time: 0 },
      // Same series (the empty source is no tag; tag order does not matter): fields merge, the later one wins.
      { measurement: "requests", tags: { window: "60s", constructor: "c" }, fields: { count: 2, bytes: 5 }, time: 0.5 },
      { measurement: "requests", tags: { window: "60s", constructor: "d" }, fields: { count: 7 }, time: 0 },
    ]);
    const got = await store.query({ measurement: "requests" });
    expect(got).toEqual([
      { measurement: "requests", tags: { constructor: "c", window: "60s" }, fields: { count: 2, bytes: 5 }, time: 0 },
      { measurement: "requests", tags: { constructor: "d", window: "60s" }, fields: { count: 7 }, time: 0 },
    ]);
    // One field of one write with strings and numbers: refused, and nothing of that write is kept.
    const mixed = await store
      .write([
        { measurement: "mixed", tags: {}, fields: { value: 1 }, time: 0 },
        { measurement: "mixed", tags: {}, fields: { value: "one" }, time: 60_000 },
      ])
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isLogbenchError(mixed, "BAD_REQUEST"), String(mixed)).toBe(true);
    expect(await store.query({ measurement: "mixed" })).toEqual([]);
    await store.close();
  });

  it("stores a tag that every point of a write shares, quotes included, as the points had it", async () => {
    // Such a tag is one constant of the write's MERGE rather than a column of its temp table.
    const file = join(dir, "shared-tags", "series.duckdb");
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext());
    const tags = (host: string) => ({ window: "60s", source: "it's", host, partition: "0" });
    await store.write([
      { measurement: "top", tags: tags("a"), fields: { count: 1 }, time: 0 },
      { measurement: "top", tags: tags("o'b"), fields: { count: 2 }, time: 0 },
    ]);
    // The same series again with one tag of the table left out (NULL in the rows this write adds), then both ways.
    await store.write([
      { measurement: "top", tags: { window: "60s", source: "it's", host: "a" }, fields: { count: 5 }, time: 0 },
      { measurement: "top", tags: { window: "60s", source: "it's", host: "a" }, fields: { count: 6 }, time: 60_000 },
    ]);
    await store.write([{ measurement: "top", tags: tags("o'b"), fields: { count: 3 }, time: 0 }]);
    await store.close();
    const data = await withDuckDb(file, { readOnly: true }, (c) =>
      queryRows(c, 'select epoch_ms(time) as t, "window", source, host, "partition", count from top order by all'),
    );
    expect(data).toEqual([
      { t: 0, window: "60s", source: "it's", host: "a", partition: "0", count: 1 },
      { t: 0, window: "60s", source: "it's", host: "a", partition: null, count: 5 },
      { t: 0, window: "60s", source: "it's", host: "o'b", partition: "0", count: 3 },
      { t: 60_000, window: "60s", source: "it's", host: "a", partition: null, count: 6 },
    ]);
  });

  it("stores a shared tag holding a NUL byte whole", async () => {
    // A SQL literal ends at the NUL, so such a shared tag goes through the appender like a varying one.
    const file = join(dir, "nul-tag", "series.duckdb");
    const store = createDuckDbSeriesStore({ type: "duckdb", file }, silentContext());
    await store.write([
      { measurement: "top", tags: { source: "x\0y", host: "a" }, fields: { count: 1 }, time: 0 },
      { measurement: "top", tags: { source: "x\0y", host: "b" }, fields: { count: 2 }, time: 0 },
    ]);
    await store.close();
    const data = await withDuckDb(file, { readOnly: true }, (c) =>
      queryRows(c, "select host, source, length(source) as n, count from top order by host"),
    );
    expect(data).toEqual([
      { host: "a", source: "x\0y", n: 3, count: 1 },
      { host: "b", source: "x\0y", n: 3, count: 2 },
    ]);
  });

  it("takes the writes made while one is under way in one transaction, and each caller hears of its own points", async () => {
    const store = createDuckDbSeriesStore(
      { type: "duckdb", file: join(dir, "group", "series.duckdb") },
      silentContext(),
    );
    const T = Date.UTC(1995, 7, 1);
    const tags = { window: "60s", source: "nasa" };
    const first = store.write([{ measurement: "requests", tags, fields: { count: 1, bytes: 10 }, time: T }]);
    // Made while the first one's transaction runs: they wait for it, then go together.
    const together = [
      store.write([
        { measurement: "requests", tags, fields: { count: 2 }, time: T },
        { measurement: "by_method", tags: { window: "60s", method: "GET" }, fields: { count: 3, bytes: 30 }, time: T },
      ]),
      // "Method" is the column "method" (DuckDB names compare case-insensitively): the same series, its count wins.
      store.write([
        { measurement: "by_method", tags: { window: "60s", Method: "GET" }, fields: { count: 9 }, time: T },
      ]),
    ];
    await Promise.all([first, ...together]);
    expect(await store.query({ measurement: "requests" })).toEqual([
      { measurement: "requests", tags, fields: { count: 2, bytes: 10 }, time: T },
    ]);
    expect(await store.query({ measurement: "by_method" })).toEqual([
      { measurement: "by_method", tags: { window: "60s", method: "GET" }, fields: { count: 9, bytes: 30 }, time: T },
    ]);
    // One of the writes taken together is refused: "source" is a tag of another one, on a table none has made yet.
    // It alone fails; the others are written.
    const next = T + 60_000;
    const results = await Promise.allSettled([
      store.write([{ measurement: "requests", tags, fields: { count: 4 }, time: next }]),
      store.write([{ measurement: "fresh", tags, fields: { count: 4 }, time: next }]),
      store.write([{ measurement: "fresh", tags: { window: "60s" }, fields: { source: "x" }, time: next }]),
      store.write([{ measurement: "fresh", tags, fields: { bytes: 40 }, time: next }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const refused = (results[2] as PromiseRejectedResult).reason;
    expect(isLogbenchError(refused, "BAD_REQUEST"), String(refused)).toBe(true);
    expect(await store.query({ measurement: "fresh" })).toEqual([
      { measurement: "fresh", tags, fields: { count: 4, bytes: 40 }, time: next },
    ]);
    await store.close();
  });
});
