/**
 * SeriesStore on InfluxDB 1.x over its HTTP API (https://docs.influxdata.com/influxdb/v1.6/tools/api/):
 *   POST /write?db=&rp=&precision=ms   line protocol built by points.ts (the client library's Point)
 *   GET  /query?db=&epoch=ms&chunked=true&q=SELECT * FROM … GROUP BY *   InfluxQL, tags come back per series
 *   POST /query?q=CREATE DATABASE …     when a write finds the database missing and `createDatabase` is on
 * Credentials go in an `Authorization: Basic` header, never in the URL, and never into a message.
 */
import { Buffer } from "node:buffer";
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { secretFrom } from "../secrets.ts";
import type { SeriesPoint, SeriesQuery, SeriesStore } from "../types.ts";
import type { InfluxV1Config } from "./config.ts";
import { inContext, influxHttpError, influxNetworkError, redact, withRetries } from "./errors.ts";
import { chunks, comparePoints, toLineProtocol } from "./points.ts";

interface InfluxQLSeries {
  name: string;
  tags?: Record<string, string>;
  columns: string[];
  values?: unknown[][];
}
interface InfluxQLResult {
  statement_id?: number;
  error?: string;
  series?: InfluxQLSeries[];
}

export function createInfluxV1Store(config: InfluxV1Config, ctx: Context): SeriesStore {
  const base = config.url.replace(/\/+$/, "");
  const kind = "influxdb-v1";
  const policy = { maxRetries: config.maxRetries, store: kind };
  let password: string | undefined;
  let auth: Promise<string | undefined> | null = null;
  let creating: Promise<void> | null = null;

  const authorization = () => {
    auth ??= (async () => {
      if (!config.username) return undefined;
      password = secretFrom(config.password, config.passwordFile, "series.passwordFile");
      return `Basic ${Buffer.from(`${config.username}:${password ?? ""}`).toString("base64")}`;
    })();
    return auth;
  };

  /** One HTTP exchange; non-2xx answers and network failures become LogbenchErrors. */
  async function request(doing: string, method: string, path: string, params: Record<string, string>, body?: string) {
    const header = await authorization();
    const url = `${base}${path}?${new URLSearchParams(params)}`;
    const headers: Record<string, string> = {};
    if (header) headers.authorization = header;
    if (body !== undefined) headers["content-type"] = "text/plain; charset=utf-8";
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body,
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(config.timeout)]),
      });
    } catch (err) {
      throw influxNetworkError(doing, err, [password], ctx.signal.aborted);
    }
    const text = await res.text();
    ctx.metrics.inc("logbench_series_requests_total", { store: kind, status: String(res.status) });
    if (!res.ok) throw influxHttpError(doing, res.status, text, res.headers.get("retry-after"), [password]);
    return text;
  }

  /** Run InfluxQL; the chunked answer is one JSON object per line. Statement errors are thrown. */
  async function influxql(doing: string, q: string, method = "GET"): Promise<InfluxQLResult[]> {
    const params: Record<string, string> = {
      db: config.database,
      epoch: "ms",
      q,
      chunked: "true",
      chunk_size: "10000",
    };
    const text = await withRetries(ctx, policy, () => request(doing, method, "/query", params));
    const results: InfluxQLResult[] = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      const json = JSON.parse(line) as { results?: InfluxQLResult[]; error?: string };
      if (json.error) throw statementError(doing, json.error);
      for (const r of json.results ?? []) {
        if (r.error) throw statementError(doing, r.error);
        results.push(r);
      }
    }
    return results;
  }

  function statementError(doing: string, error: string): LogbenchError {
    const code = /database not found/i.test(error) ? "NOT_FOUND" : "BAD_REQUEST";
    return new LogbenchError(code, redact(`${doing}: ${error}`, [password]));
  }

  /** CREATE DATABASE (idempotent in 1.x), shared by concurrent writers. Needs admin rights, so it runs
   *  only when a write found the database missing: a write-only user is enough while it exists. */
  function createDatabase(): Promise<void> {
    creating ??= influxql(`creating database ${config.database}`, `CREATE DATABASE ${ident(config.database)}`, "POST")
      .then(() => undefined)
      .finally(() => {
        creating = null;
      });
    return creating;
  }

  /** With createDatabase, a missing database is an empty store for readers (nothing was written yet). */
  const emptyIfMissing =
    <T>(empty: T) =>
    (err: unknown): T => {
      if (err instanceof LogbenchError && err.code === "NOT_FOUND" && config.createDatabase) return empty;
      throw err;
    };

  const from = () =>
    config.retentionPolicy
      ? `${ident(config.database)}.${ident(config.retentionPolicy)}.`
      : `${ident(config.database)}..`;

  return {
    kind,

    async write(points) {
      const doing = `writing ${points.length} points to InfluxDB ${base} database ${config.database}`;
      try {
        const lines = toLineProtocol(points);
        if (lines.length === 0) return;
        const params: Record<string, string> = { db: config.database, precision: "ms" };
        if (config.retentionPolicy) params.rp = config.retentionPolicy;
        for (const chunk of chunks(lines)) {
          const body = chunk.join("\n");
          const send = () => withRetries(ctx, policy, () => request(doing, "POST", "/write", params, body));
          await send().catch(async (err: unknown) => {
            // First use (or dropped behind our back): create it, then send this chunk again.
            if (!(err instanceof LogbenchError && err.code === "NOT_FOUND" && config.createDatabase)) throw err;
            await createDatabase();
            await send();
          });
        }
      } catch (err) {
        throw inContext(doing, err);
      }
    },

    async query(q: SeriesQuery) {
      const doing = `querying ${q.measurement} in InfluxDB ${base} database ${config.database}`;
      try {
        const where: string[] = [];
        if (q.from !== undefined) where.push(`time >= ${Math.floor(q.from)}ms`);
        if (q.to !== undefined) where.push(`time < ${Math.floor(q.to)}ms`);
        for (const [k, v] of Object.entries(q.tags ?? {})) where.push(`${ident(k)} = ${literal(v)}`);
        const sql =
          `SELECT * FROM ${from()}${ident(q.measurement)}` +
          (where.length ? ` WHERE ${where.join(" AND ")}` : "") +
          " GROUP BY *";
        const results = await influxql(doing, sql).catch(emptyIfMissing<InfluxQLResult[]>([]));
        return results.flatMap((r) => (r.series ?? []).flatMap(seriesToPoints)).sort(comparePoints);
      } catch (err) {
        throw inContext(doing, err);
      }
    },

    async measurements() {
      const doing = `listing measurements in InfluxDB ${base} database ${config.database}`;
      try {
        const results = await influxql(doing, "SHOW MEASUREMENTS").catch(emptyIfMissing<InfluxQLResult[]>([]));
        const names = results.flatMap((r) =>
          (r.series ?? []).flatMap((s) => (s.values ?? []).map((v) => String(v[0]))),
        );
        return [...new Set(names)].sort();
      } catch (err) {
        throw inContext(doing, err);
      }
    },

    async close() {},
  };
}

function seriesToPoints(series: InfluxQLSeries): SeriesPoint[] {
  const tags = Object.fromEntries(Object.entries(series.tags ?? {}).filter(([, v]) => v !== ""));
  const timeIndex = series.columns.indexOf("time");
  const points: SeriesPoint[] = [];
  for (const row of series.values ?? []) {
    const fields: Record<string, number | string> = {};
    series.columns.forEach((column, i) => {
      const v = row[i];
      if (i !== timeIndex && (typeof v === "number" || typeof v === "string")) fields[column] = v;
    });
    if (Object.keys(fields).length === 0) continue;
    points.push({ measurement: series.name, tags: { ...tags }, fields, time: Number(row[timeIndex]) });
  }
  return points;
}

/** InfluxQL double-quoted identifier. */
function ident(name: string): string {
  return `"${name.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** InfluxQL single-quoted string literal. */
function literal(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}
