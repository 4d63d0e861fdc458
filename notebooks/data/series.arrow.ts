/**
 * series.arrow — the series store's points (InfluxDB or the local DuckDB file) for the newest days (default 7,
 * LOGBENCH_SERIES_DAYS), one row per point and field, as Arrow IPC:
 *   measurement, time (timestamp, UTC), window, source, partition, key (the method, status or rank tag),
 *   field, value (number), text (the ranked path or host of top_paths / top_hosts)
 * The series page aggregates it with DuckDB-wasm.
 */
import { Float64, Table, TimestampMillisecond, tableToIPC, Utf8, vectorFromArray } from "apache-arrow";
import { MEASUREMENTS, openSeries, type SeriesPoint, using } from "logbench";
import { runLoader } from "./_lib/loader.ts";

const DAY = 86_400_000;
const KEY_TAGS = ["method", "status", "rank"];

await runLoader("data/series.arrow", async ({ config, ctx, env, now }) => {
  const days = Number(env.LOGBENCH_SERIES_DAYS ?? 7);
  const points = await using(await openSeries(config, ctx), async (store) => {
    let requests = await store.query({ measurement: MEASUREMENTS.requests, from: now - days * DAY });
    if (requests.length === 0) requests = await store.query({ measurement: MEASUREMENTS.requests });
    const newest = requests.reduce((max, p) => Math.max(max, p.time), Number.NEGATIVE_INFINITY);
    if (!Number.isFinite(newest)) return [];
    const from = newest - days * DAY;
    const out: SeriesPoint[] = requests.filter((p) => p.time > from);
    for (const m of [MEASUREMENTS.byMethod, MEASUREMENTS.byStatus, MEASUREMENTS.topPaths, MEASUREMENTS.topHosts]) {
      out.push(...(await store.query({ measurement: m, from: from + 1 })));
    }
    return out;
  });

  const rows = {
    measurement: [] as string[],
    time: [] as number[],
    window: [] as (string | null)[],
    source: [] as (string | null)[],
    partition: [] as (string | null)[],
    key: [] as (string | null)[],
    field: [] as string[],
    value: [] as number[],
    text: [] as (string | null)[],
  };
  for (const p of points) {
    const key = KEY_TAGS.map((t) => p.tags[t]).find((v) => v !== undefined) ?? null;
    const text = typeof p.fields.value === "string" ? p.fields.value : null;
    for (const [field, value] of Object.entries(p.fields)) {
      if (typeof value !== "number") continue;
      rows.measurement.push(p.measurement);
      rows.time.push(p.time);
      rows.window.push(p.tags.window ?? null);
      rows.source.push(p.tags.source ?? null);
      rows.partition.push(p.tags.partition ?? null);
      rows.key.push(key);
      rows.field.push(field);
      rows.value.push(value);
      rows.text.push(text);
    }
  }
  const utf8 = (values: (string | null)[]) => vectorFromArray(values, new Utf8());
  const table = new Table({
    measurement: utf8(rows.measurement),
    time: vectorFromArray(rows.time, new TimestampMillisecond()),
    window: utf8(rows.window),
    source: utf8(rows.source),
    partition: utf8(rows.partition),
    key: utf8(rows.key),
    field: utf8(rows.field),
    value: vectorFromArray(rows.value, new Float64()),
    text: utf8(rows.text),
  });
  return tableToIPC(table, "stream");
});
