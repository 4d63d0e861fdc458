/**
 * The contract every SeriesStore passes (InfluxDB 1.x, InfluxDB 2.x, DuckDB file). It pins down what the
 * aggregate stage and the notebooks rely on: exact round trips, [from, to) ranges, tag filters, the order
 * of results, and idempotent overwrites (InfluxDB semantics: same measurement + tag set + time = same point).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isLogbenchError } from "../../connectors/errors.ts";
import { writeSeriesColumns } from "../../connectors/series-columns.ts";
import type { SeriesColumns, SeriesPoint, SeriesStore } from "../../connectors/types.ts";

/** 1995-07-01T00:00:00Z, the first day of the NASA-HTTP sample. */
const T0 = Date.UTC(1995, 6, 1);
const MIN = 60_000;

export interface SeriesStoreFixture {
  store: SeriesStore;
  cleanup(): Promise<void>;
}

/** Order the contract expects: time, then the tag set written as "k=v,k2=v2" with keys sorted. */
export function expectedOrder(points: SeriesPoint[]): SeriesPoint[] {
  const key = (p: SeriesPoint) =>
    Object.keys(p.tags)
      .sort()
      .map((k) => `${k}=${p.tags[k]}`)
      .join(",");
  return [...points].sort((a, b) => a.time - b.time || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

export function seriesStoreContract(name: string, make: () => Promise<SeriesStoreFixture>): void {
  describe(`SeriesStore contract: ${name}`, () => {
    let store: SeriesStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await make());
    });
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it("returns what was written: integers stay integers, floats stay floats, ms timestamps exact", async () => {
      const written: SeriesPoint[] = [
        {
          measurement: "requests",
          tags: { window: "60s", source: "nasa" },
          fields: { count: 42, bytes: 1_048_576, big: 2 ** 40, errorRatio: 0.25, delta: -1.5, zero: 0 },
          time: T0 + 123,
        },
        {
          measurement: "requests",
          tags: { window: "60s", source: 'GET /a b,c=d "q" é' },
          fields: { count: 7, tiny: 1e-7 },
          time: T0 + MIN,
        },
      ];
      await store.write(written);
      const got = await store.query({ measurement: "requests" });
      expect(got).toEqual(expectedOrder(written));
      const first = got[0]!;
      expect(Number.isInteger(first.fields.count)).toBe(true);
      expect(first.fields.errorRatio).toBe(0.25);
      expect(first.fields.delta).toBe(-1.5);
      expect(got[1]!.fields.tiny).toBe(1e-7);
    });

    it("keeps string fields as strings, even when they look like numbers (top_paths / top_hosts)", async () => {
      const written = [
        point("top_paths", { window: "60s", rank: "1" }, { value: "/images/NASA-logosmall.gif", count: 97 }, T0),
        point("top_paths", { window: "60s", rank: "2" }, { value: "200", count: 12 }, T0),
        point("top_paths", { window: "60s", rank: "3" }, { value: 'say "hi", ok\\', count: 1 }, T0),
      ];
      await store.write(written);
      const got = await store.query({ measurement: "top_paths" });
      expect(got).toEqual(written);
      expect(typeof got[1]!.fields.value).toBe("string");
    });

    it("bounds a query to [from, to)", async () => {
      const points = [0, 1, 2, 3].map((i) => point("requests", { window: "60s" }, { count: i }, T0 + i * MIN));
      await store.write(points);
      const times = async (from?: number, to?: number) =>
        (await store.query({ measurement: "requests", from, to })).map((p) => (p.time - T0) / MIN);
      expect(await times(T0 + MIN, T0 + 3 * MIN)).toEqual([1, 2]);
      expect(await times(T0 + MIN)).toEqual([1, 2, 3]);
      expect(await times(undefined, T0 + MIN)).toEqual([0]);
      expect(await times(T0 + MIN + 1, T0 + 2 * MIN)).toEqual([]);
      expect(await times()).toEqual([0, 1, 2, 3]);
    });

    it("filters on exact tag values", async () => {
      await store.write([
        point("requests_by_method", { window: "60s", method: "GET" }, { count: 10 }, T0),
        point("requests_by_method", { window: "60s", method: "POST" }, { count: 2 }, T0),
        point("requests_by_method", { window: "300s", method: "GET" }, { count: 50 }, T0),
      ]);
      const get = await store.query({ measurement: "requests_by_method", tags: { method: "GET" } });
      expect(get.map((p) => p.fields.count)).toEqual([50, 10]);
      const both = await store.query({ measurement: "requests_by_method", tags: { method: "GET", window: "60s" } });
      expect(both).toEqual([point("requests_by_method", { window: "60s", method: "GET" }, { count: 10 }, T0)]);
      expect(await store.query({ measurement: "requests_by_method", tags: { method: "PUT" } })).toEqual([]);
      expect(await store.query({ measurement: "requests_by_method", tags: { nosuchtag: "x" } })).toEqual([]);
      expect(await store.query({ measurement: "never_written" })).toEqual([]);
    });

    it("orders results by time, then by tag set", async () => {
      const statuses = ["500", "200", "404"];
      const points = [3, 1, 2, 0].flatMap((i) =>
        statuses.map((s) => point("requests_by_status", { window: "60s", status: s }, { count: i }, T0 + i * MIN)),
      );
      await store.write(points);
      const got = await store.query({ measurement: "requests_by_status" });
      expect(got.map((p) => `${(p.time - T0) / MIN}:${p.tags.status}`)).toEqual(
        [0, 1, 2, 3].flatMap((i) => ["200", "404", "500"].map((s) => `${i}:${s}`)),
      );
    });

    it("overwrites a window written twice: one point per time and tag set, last values win", async () => {
      const window = (scale: number) =>
        Array.from({ length: 10 }, (_, m) =>
          ["GET", "POST", "HEAD"].map((method) =>
            point("requests_by_method", { window: "60s", method }, { count: (m + 1) * scale }, T0 + m * MIN),
          ),
        ).flat();
      await store.write(window(1));
      await store.write(window(3).map((p) => ({ ...p, fields: { ...p.fields, uniqueHosts: 5 } })));
      const got = await store.query({ measurement: "requests_by_method" });
      expect(got).toHaveLength(30);
      expect(got.reduce((sum, p) => sum + Number(p.fields.count), 0)).toBe(3 * 3 * 55);
      expect(got.every((p) => p.fields.uniqueHosts === 5)).toBe(true);
    });

    it("keeps the fields a second write of the same point leaves out (InfluxDB field merge)", async () => {
      const tags = { window: "60s", source: "nasa" };
      await store.write([point("requests", tags, { count: 4, bytes: 100 }, T0)]);
      await store.write([point("requests", tags, { count: 5 }, T0)]);
      expect(await store.query({ measurement: "requests" })).toEqual([
        point("requests", tags, { count: 5, bytes: 100 }, T0),
      ]);
    });

    it("writes 5,000 points in one call", async () => {
      const points = Array.from({ length: 5000 }, (_, i) =>
        point("requests", { window: "60s", source: i % 2 ? "odd" : "even" }, { count: i, bytes: i * 10 }, T0 + i * MIN),
      );
      await store.write(points);
      const got = await store.query({ measurement: "requests" });
      expect(got).toHaveLength(5000);
      expect(got.reduce((sum, p) => sum + Number(p.fields.count), 0)).toBe((4999 * 5000) / 2);
      expect(got[0]).toEqual(points[0]);
      expect(got[4999]).toEqual(points[4999]);
      const odd = await store.query({ measurement: "requests", tags: { source: "odd" }, from: T0, to: T0 + 100 * MIN });
      expect(odd.map((p) => p.fields.count)).toEqual(Array.from({ length: 50 }, (_, i) => 2 * i + 1));
    });

    it("lists the measurements that hold data", async () => {
      expect(await store.measurements()).toEqual([]);
      await store.write([
        point("requests_by_status", { window: "60s", status: "200" }, { count: 1 }, T0),
        point("requests", { window: "60s" }, { count: 1 }, T0),
      ]);
      expect([...(await store.measurements())].sort()).toEqual(["requests", "requests_by_status"]);
    });

    it("rejects a point without fields or with a non-finite value, as BAD_REQUEST, writing nothing of it", async () => {
      for (const bad of [{}, { count: Number.NaN }, { count: Number.POSITIVE_INFINITY }] as Record<string, number>[]) {
        const err = await store
          .write([point("requests", { window: "60s" }, { count: 1 }, T0), point("requests", {}, bad, T0 + MIN)])
          .then(
            () => null,
            (e: unknown) => e,
          );
        expect(isLogbenchError(err, "BAD_REQUEST"), String(err)).toBe(true);
      }
      expect(await store.query({ measurement: "requests" })).toEqual([]);
      await expect(store.write([])).resolves.toBeUndefined();
    });

    it("takes points in columns as the same points (its writeColumns, or its write when it has none)", async () => {
      await store.write([point("requests", { window: "60s", source: "nasa" }, { count: 1, bytes: 100 }, T0)]);
      const columns: SeriesColumns[] = [
        {
          measurement: "requests",
          // A fraction of a millisecond is dropped, as by write.
          time: [T0, T0 + MIN + 0.75, T0 + 2 * MIN],
          // An empty or missing tag is no tag; the source column ends before the last row.
          tags: { window: ["60s", "60s", "60s"], source: ["nasa", ""] },
          // The first row leaves `bytes` out: the point already there keeps it (field merge).
          fields: { count: [5, 6, 7], bytes: [undefined, 60, 70] },
        },
        { measurement: "top_paths", time: [T0], tags: { rank: ["1"] }, fields: { value: ["/"], count: [9] } },
        // A second part of one measurement in the same call.
        { measurement: "requests", time: [T0 + 3 * MIN], tags: { window: ["60s"] }, fields: { count: [8] } },
      ];
      await writeSeriesColumns(store, columns);
      expect(await store.query({ measurement: "requests" })).toEqual([
        point("requests", { window: "60s", source: "nasa" }, { count: 5, bytes: 100 }, T0),
        point("requests", { window: "60s" }, { count: 6, bytes: 60 }, T0 + MIN),
        point("requests", { window: "60s" }, { count: 7, bytes: 70 }, T0 + 2 * MIN),
        point("requests", { window: "60s" }, { count: 8 }, T0 + 3 * MIN),
      ]);
      expect(await store.query({ measurement: "top_paths" })).toEqual([
        point("top_paths", { rank: "1" }, { value: "/", count: 9 }, T0),
      ]);
      // The writer's arrays are as they were.
      expect(columns[0]!.time).toEqual([T0, T0 + MIN + 0.75, T0 + 2 * MIN]);
      expect(columns[0]!.fields.bytes).toEqual([undefined, 60, 70]);
      // One series twice in one part: the later row's fields win. A column no row carries leaves that field alone,
      // whatever it holds (strings here: no number goes in). The writer's arrays stay as they were.
      const again: SeriesColumns = {
        measurement: "top_paths",
        time: [T0, T0],
        tags: { rank: ["1", "1"] },
        fields: { value: [undefined, undefined], count: [10, 11] },
      };
      await writeSeriesColumns(store, [again]);
      expect(await store.query({ measurement: "top_paths" })).toEqual([
        point("top_paths", { rank: "1" }, { value: "/", count: 11 }, T0),
      ]);
      expect(again.fields).toEqual({ value: [undefined, undefined], count: [10, 11] });
      // A row without a field, or a value that is not a finite number, is refused and nothing of its write is kept.
      for (const bad of [
        [undefined, undefined],
        [1, Number.NaN],
      ]) {
        const err = await writeSeriesColumns(store, [
          { measurement: "late", time: [T0, T0 + MIN], tags: { window: ["60s", "60s"] }, fields: { count: bad } },
        ]).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isLogbenchError(err, "BAD_REQUEST"), String(err)).toBe(true);
      }
      expect(await store.query({ measurement: "late" })).toEqual([]);
    });
  });
}

function point(
  measurement: string,
  tags: Record<string, string>,
  fields: Record<string, number | string>,
  time: number,
): SeriesPoint {
  return { measurement, tags, fields, time };
}
