/**
 * SeriesStore on InfluxDB 2.x / Cloud through @influxdata/influxdb-client
 * (https://docs.influxdata.com/influxdb/v2/api/ — POST /api/v2/write, POST /api/v2/query).
 *
 * Writes: the client's write API is built to buffer in the background and retry on timers, which can lose
 * points on a crash and reports failures only to a callback. Here every chunk of one `write()` call gets a
 * fresh write API with no timer (flushInterval 0), no batching past the chunk, no client-side retries and a
 * `writeFailed` that hands the error back; `write()` resolves only after the server accepted every chunk.
 * Retries are ours (errors.ts), the same policy as 1.x. Queries are Flux:
 *   from(bucket) |> range(start, stop) |> filter(measurement and tags) |> pivot(_time × _field)
 * The token comes from `token` or `tokenFile` and is scrubbed from every message.
 */
import { type FluxTableMetaData, fluxDateTime, fluxString, HttpError, InfluxDB } from "@influxdata/influxdb-client";
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { secretFrom } from "../secrets.ts";
import type { SeriesPoint, SeriesQuery, SeriesStore } from "../types.ts";
import type { InfluxV2Config } from "./config.ts";
import { inContext, influxHttpError, influxNetworkError, withRetries } from "./errors.ts";
import { chunks, comparePoints, toLineProtocol } from "./points.ts";

/** Flux range needs a start and takes a stop: the widest sensible span when the query leaves them out. */
const EARLIEST = "1970-01-01T00:00:00Z";
const LATEST = "2262-01-01T00:00:00Z";
const SYSTEM_COLUMNS = new Set(["result", "table", "_start", "_stop", "_time", "_measurement", "_field", "_value"]);

export function createInfluxV2Store(config: InfluxV2Config, ctx: Context): SeriesStore {
  const base = config.url.replace(/\/+$/, "");
  const kind = "influxdb-v2";
  const policy = { maxRetries: config.maxRetries, store: kind };
  let token: string | undefined;
  let client: Promise<InfluxDB> | null = null;

  const influx = () => {
    client ??= (async () => {
      token = secretFrom(config.token, config.tokenFile, "series.tokenFile");
      if (!token) throw new LogbenchError("CONFIG", "series (influxdb-v2): set token or tokenFile");
      return new InfluxDB({ url: base, token, timeout: config.timeout });
    })().catch((err) => {
      client = null;
      throw err;
    });
    return client;
  };

  /** Client errors → LogbenchError, counted, with the token scrubbed. */
  const convert = (doing: string, err: unknown): LogbenchError => {
    if (err instanceof LogbenchError) return err;
    if (err instanceof HttpError) {
      ctx.metrics.inc("logbench_series_requests_total", { store: kind, status: String(err.statusCode) });
      const retryAfter = err.headers?.["retry-after"];
      return influxHttpError(
        doing,
        err.statusCode,
        err.body ?? err.message,
        Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
        [token],
      );
    }
    return influxNetworkError(doing, err, [token], ctx.signal.aborted);
  };

  async function writeChunk(doing: string, lines: string[]): Promise<void> {
    const api = (await influx()).getWriteApi(config.org, config.bucket, "ms", {
      batchSize: lines.length + 1,
      maxBatchBytes: Number.MAX_SAFE_INTEGER,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: lines.length,
      // Returning the rejection makes it the flush's result, and keeps the client from logging on its own.
      writeFailed: (error: Error) => Promise.reject(error),
    });
    try {
      api.writeRecords(lines);
      await api.flush();
      ctx.metrics.inc("logbench_series_requests_total", { store: kind, status: "204" });
    } catch (err) {
      throw convert(doing, err);
    } finally {
      api.dispose();
    }
  }

  async function flux(doing: string, query: string): Promise<Array<{ row: string[]; meta: FluxTableMetaData }>> {
    const api = (await influx()).getQueryApi({ org: config.org, gzip: false });
    return withRetries(ctx, policy, async () => {
      const rows: Array<{ row: string[]; meta: FluxTableMetaData }> = [];
      try {
        for await (const { values, tableMeta } of api.iterateRows(query)) rows.push({ row: values, meta: tableMeta });
      } catch (err) {
        throw convert(doing, err);
      }
      ctx.metrics.inc("logbench_series_requests_total", { store: kind, status: "200" });
      return rows;
    });
  }

  return {
    kind,

    async write(points) {
      const doing = `writing ${points.length} points to InfluxDB ${base} bucket ${config.bucket}`;
      try {
        const lines = toLineProtocol(points);
        for (const chunk of chunks(lines)) await withRetries(ctx, policy, () => writeChunk(doing, chunk));
      } catch (err) {
        throw inContext(doing, err);
      }
    },

    async query(q: SeriesQuery) {
      const doing = `querying ${q.measurement} in InfluxDB ${base} bucket ${config.bucket}`;
      try {
        const start = fluxDateTime(new Date(q.from ?? Date.parse(EARLIEST)).toISOString());
        const stop = fluxDateTime(q.to === undefined ? LATEST : new Date(q.to).toISOString());
        const conditions = [`r._measurement == ${fluxString(q.measurement)}`];
        for (const [k, v] of Object.entries(q.tags ?? {})) conditions.push(`r[${fluxString(k)}] == ${fluxString(v)}`);
        const query =
          `from(bucket: ${fluxString(config.bucket)})\n` +
          `  |> range(start: ${start}, stop: ${stop})\n` +
          `  |> filter(fn: (r) => ${conditions.join(" and ")})\n` +
          '  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")';
        const rows = await flux(doing, query);
        return rows.map(({ row, meta }) => rowToPoint(q.measurement, row, meta)).sort(comparePoints);
      } catch (err) {
        throw inContext(doing, err);
      }
    },

    async measurements() {
      const doing = `listing measurements in InfluxDB ${base} bucket ${config.bucket}`;
      try {
        const query =
          'import "influxdata/influxdb/schema"\n\n' +
          `schema.measurements(bucket: ${fluxString(config.bucket)}, start: ${fluxDateTime(EARLIEST)})`;
        const rows = await flux(doing, query);
        const names = rows.map(({ row, meta }) => String(meta.column("_value").get(row)));
        return [...new Set(names)].sort();
      } catch (err) {
        throw inContext(doing, err);
      }
    },

    async close() {
      client = null;
    },
  };
}

/** After pivot, group-key columns other than the system ones are tags, the other columns fields. */
function rowToPoint(measurement: string, row: string[], meta: FluxTableMetaData): SeriesPoint {
  const tags: Record<string, string> = {};
  const fields: Record<string, number | string> = {};
  let time = Number.NaN;
  for (const col of meta.columns) {
    const value = col.get(row);
    if (col.label === "_time") time = Date.parse(String(value));
    if (SYSTEM_COLUMNS.has(col.label) || value === null || value === undefined || value === "") continue;
    if (col.group) tags[col.label] = String(value);
    else if (typeof value === "number" || typeof value === "string") fields[col.label] = value;
  }
  return { measurement, tags, fields, time };
}
