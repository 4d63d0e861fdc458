/**
 * backfillSeries and backfillBus over a real local archive of Parquet files written by the archive's encoder:
 * the range's windows only, hopping windows aligned to their slide, `--late`'s filter, and republishing exactly the
 * range's events. Expected numbers are counted here from the events the test archived.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createDuckDbSeriesStore } from "../../../connectors/duckdb/series-store.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import { bucketKey, bucketOf, finalPath } from "../../../pipeline/archive/layout.ts";
import { ParquetEncoder } from "../../../pipeline/archive/parquet.ts";
import { backfillBus, backfillSeries } from "../../../pipeline/backfill/backfill.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";

const MIN = 60_000;
const T0 = Date.UTC(2015, 4, 17, 10, 0);

function event(ts: number, i: number): LogEvent {
  return {
    ts,
    host: `h${i % 7}`,
    ident: null,
    user: null,
    method: "GET",
    path: `/p${i % 3}`,
    query: null,
    protocol: "HTTP/1.1",
    status: i % 5 === 0 ? 404 : 200,
    bytes: i,
    referrer: null,
    agent: null,
    source: "s",
  };
}

/** One event every 10 s from 10:00 to 12:00 UTC, archived as the archive stage would (per partition and hour). */
async function archiveOf(dir: string) {
  const events = Array.from({ length: 720 }, (_, i) => event(T0 + i * 10_000, i));
  const store = createLocalArchive({ type: "local", dir: join(dir, "archive") }, silentContext());
  const encoder = await ParquetEncoder.create(dir);
  for (const partition of [0, 1]) {
    const mine = events.filter((_, i) => i % 2 === partition);
    for (const hour of [10, 11]) {
      const inHour = mine.filter((e) => new Date(e.ts).getUTCHours() === hour);
      const bucket = bucketKey(bucketOf(inHour[0]!.ts));
      await store.create(
        finalPath("weblogs", bucket, partition, hour * 1000, hour * 1000 + inHour.length - 1),
        await encoder.encode(inHour, "zstd"),
      );
    }
  }
  await encoder.close();
  return { events, store };
}

describe("backfill", () => {
  it("writes the range's windows of every kind, hopping ones aligned to their slide, and nothing outside", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-backfill-"));
    const { events, store } = await archiveOf(dir);
    const series = createDuckDbSeriesStore({ type: "duckdb", file: join(dir, "s.duckdb") }, silentContext());
    const config = parseConfig({
      archive: { type: "local", dir: join(dir, "archive") },
      aggregator: { windows: [{ size: "60s" }, { size: "5m", slide: "1m" }] },
    });
    const from = T0 + 30 * MIN + 20_000; // aligned down to 10:30
    const to = T0 + 75 * MIN; // 11:15, exclusive
    const r = await backfillSeries(config, silentContext(), store, series, { from, to });
    expect(r.filesTotal).toBe(4);
    const points = await series.query({ measurement: "requests" });
    const minutes = (label: string) =>
      [...new Set(points.filter((p) => p.tags.window === label).map((p) => (p.time - T0) / MIN))].sort((a, b) => a - b);
    const expected = Array.from({ length: 45 }, (_, i) => 30 + i);
    expect(minutes("60s")).toEqual(expected);
    expect(minutes("5m/1m")).toEqual(expected);
    // A hopping window across the hour boundary holds both hours' events: 11:58 … 12:03 has the last 2 minutes.
    const count = (label: string, minute: number) =>
      points
        .filter((p) => p.tags.window === label && p.time === T0 + minute * MIN)
        .reduce((n, p) => n + Number(p.fields.count), 0);
    const truth = (start: number, size: number) =>
      events.filter((e) => e.ts >= T0 + start * MIN && e.ts < T0 + (start + size) * MIN).length;
    expect(count("5m/1m", 58)).toBe(truth(58, 5));
    expect(count("5m/1m", 58)).toBe(30); // 10:58–11:03, six events a minute
    expect(count("60s", 30)).toBe(truth(30, 1));
    const late = await backfillSeries(config, silentContext(), store, series, {
      from: T0,
      to: T0 + 120 * MIN,
      filter: (s, partition) => s.spec.label === "60s" && partition === 1 && s.start === T0 + 5 * MIN,
    });
    expect(late.windows).toBe(1);
    await series.close();
  });

  it("republishes exactly the range's events onto the bus", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-backfill-bus-"));
    const { events, store } = await archiveOf(dir);
    const config = parseConfig({ archive: { type: "local", dir: join(dir, "archive") } });
    const sent: LogEvent[] = [];
    const from = T0 + 50 * MIN;
    const to = T0 + 70 * MIN;
    await backfillBus(
      config,
      silentContext(),
      store,
      async (batch) => {
        sent.push(...batch);
      },
      { from, to },
    );
    const want = events.filter((e) => e.ts >= from && e.ts < to);
    expect(sent.map((e) => e.ts).sort((a, b) => a - b)).toEqual(want.map((e) => e.ts));
    expect(sent[0]).toMatchObject({ source: "s", protocol: "HTTP/1.1" });
  });
});
