/**
 * The SQL catalog behind `logbench query` and the notebooks' data loaders: an in-memory DuckDB with
 *   events        the archived LogEvents (Parquet; an HDFS archive is mirrored to a local cache first)
 *   dead_letters  every dead letter on the bus (raw line, source, file, line, offset, reason)
 *   requests, requests_by_method, requests_by_status, top_paths, top_hosts
 *                 the series: columns time (epoch ms, the window start) + tags + fields
 *   late          late events per window (which windows are incomplete, by how much; `logbench backfill --late`)
 * Times are epoch ms (BIGINT) everywhere: epoch_ms(ts) turns one into a TIMESTAMP; `events` also has `time`.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { localRootOf, syncArchive } from "../../connectors/archive-sync.ts";
import type { Context } from "../../connectors/context.ts";
import {
  type DuckDBConnection,
  queryRows,
  quoteIdent,
  quoteLiteral,
  withDuckDb,
} from "../../connectors/duckdb/connection.ts";
import { createArchiveStore, createBus, createSeriesStore } from "../../connectors/registry.ts";
import type { Config } from "../config/schema.ts";
import { LOG_EVENT_COLUMNS } from "../model/log-event.ts";
import { MEASUREMENT_SCHEMA, MEASUREMENTS } from "../model/window.ts";

const EVENT_TYPES: Record<(typeof LOG_EVENT_COLUMNS)[number], string> = {
  ts: "BIGINT",
  host: "VARCHAR",
  ident: "VARCHAR",
  user: "VARCHAR",
  method: "VARCHAR",
  path: "VARCHAR",
  query: "VARCHAR",
  protocol: "VARCHAR",
  status: "INTEGER",
  bytes: "BIGINT",
  referrer: "VARCHAR",
  agent: "VARCHAR",
  source: "VARCHAR",
};

const DEAD_LETTER_COLUMNS = `{"at": "BIGINT", "source": "VARCHAR", "file": "VARCHAR", "line": "BIGINT", "offset": "BIGINT",
  "reason": "VARCHAR", "raw": "VARCHAR", "rawBase64": "VARCHAR"}`;

export interface CatalogOptions {
  /** Which tables to load (all by default); loading only what a query needs keeps it fast. */
  tables?: Array<"events" | "dead_letters" | "series" | "sketches">;
}

/** Open the catalog, run `fn`, clean up. */
export async function withCatalog<T>(
  config: Config,
  ctx: Context,
  fn: (conn: DuckDBConnection) => Promise<T>,
  options: CatalogOptions = {},
): Promise<T> {
  const want = new Set(options.tables ?? ["events", "dead_letters", "series"]);
  const scratch = await mkdtemp(join(tmpdir(), "logbench-query-"));
  try {
    return await withDuckDb(":memory:", {}, async (conn) => {
      if (want.has("events")) await loadEvents(conn, config, ctx);
      if (want.has("dead_letters")) await loadDeadLetters(conn, config, ctx, scratch);
      if (want.has("series") || want.has("sketches"))
        await loadSeries(conn, config, ctx, scratch, want.has("sketches"));
      return fn(conn);
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Tables a SQL text mentions, so `select count(*) from events` does not read the whole bus. */
export function tablesIn(sql: string): NonNullable<CatalogOptions["tables"]> {
  const lower = sql.toLowerCase();
  const out: NonNullable<CatalogOptions["tables"]> = [];
  if (/\bevents\b/.test(lower)) out.push("events");
  if (/\bdead_letters\b/.test(lower)) out.push("dead_letters");
  if (Object.values(MEASUREMENTS).some((m) => m !== MEASUREMENTS.sketches && new RegExp(`\\b${m}\\b`).test(lower)))
    out.push("series");
  // The stored summaries are large next to the numbers: loaded only when asked for by name.
  if (/\bsketches\b/.test(lower)) out.push("sketches");
  return out.length ? out : ["events", "dead_letters", "series"];
}

export async function runSql(config: Config, ctx: Context, sql: string): Promise<Record<string, unknown>[]> {
  return withCatalog(config, ctx, (conn) => queryRows(conn, sql), { tables: tablesIn(sql) });
}

async function loadEvents(conn: DuckDBConnection, config: Config, ctx: Context): Promise<void> {
  const store = await createArchiveStore(config.archive, ctx);
  try {
    let root = localRootOf(store);
    if (!root) {
      root = join(config.stateDir, "archive-cache");
      await syncArchive(store, config.topic, join(root, config.topic));
    }
    const dir = join(root, config.topic);
    await createEventsView(conn, (await hasParquet(dir)) ? [join(dir, "dt=*", "hour=*", "*.parquet")] : []);
  } finally {
    await store.close();
  }
}

/**
 * The `events` view over Parquet files or globs: the archive's columns with `ts` in epoch ms, and `time`, the same
 * instant as a TIMESTAMP (UTC); typed and empty when there are none. Files written before `ts` became a Parquet
 * TIMESTAMP hold it as a BIGINT of epoch ms: each file's type is read from its footer (parquet_schema), and the two
 * kinds are read apart and unioned, so an archive with both stays readable. `raw` is kept only when parse.keepRaw is
 * on; union_by_name gives NULL where a file lacks it.
 */
export async function createEventsView(conn: DuckDBConnection, sources: string[]): Promise<void> {
  const columns = [...LOG_EVENT_COLUMNS, "raw"].map((c) => quoteIdent(c));
  if (sources.length > 0) {
    const kinds = await queryRows(
      conn,
      `SELECT file_name, logical_type IS NOT NULL AND logical_type LIKE 'TimestampType%' AS is_time
       FROM parquet_schema([${sources.map(quoteLiteral).join(", ")}]) WHERE name = 'ts'`,
    );
    const read = (files: string[], ts: string) =>
      `SELECT ${columns.map((c) => (c === '"ts"' ? `${ts} AS ts` : c)).join(", ")} FROM read_parquet([${files
        .map(quoteLiteral)
        .join(", ")}], hive_partitioning = false, union_by_name = true)`;
    const timed = kinds.filter((k) => k.is_time).map((k) => String(k.file_name));
    const epoch = kinds.filter((k) => !k.is_time).map((k) => String(k.file_name));
    const parts = [
      ...(timed.length ? [read(timed, "epoch_ms(ts)")] : []),
      ...(epoch.length ? [read(epoch, "CAST(ts AS BIGINT)")] : []),
    ];
    await conn.run(
      `CREATE VIEW events AS SELECT ${columns.join(", ")}, epoch_ms(ts) AS "time" FROM (${parts.join(" UNION ALL BY NAME ")})`,
    );
    return;
  }
  const typed = [
    ...LOG_EVENT_COLUMNS.map((c) => `CAST(NULL AS ${EVENT_TYPES[c]}) AS ${quoteIdent(c)}`),
    "CAST(NULL AS VARCHAR) AS raw",
    'CAST(NULL AS TIMESTAMP) AS "time"',
  ].join(", ");
  await conn.run(`CREATE VIEW events AS SELECT ${typed} WHERE false`);
}

async function hasParquet(dir: string): Promise<boolean> {
  try {
    for (const day of await readdir(dir))
      if (day.startsWith("dt="))
        for (const hour of await readdir(join(dir, day)))
          if ((await readdir(join(dir, day, hour))).some((f) => f.endsWith(".parquet"))) return true;
  } catch {
    return false;
  }
  return false;
}

async function loadDeadLetters(conn: DuckDBConnection, config: Config, ctx: Context, scratch: string): Promise<void> {
  const bus = await createBus(config.bus, ctx);
  try {
    const messages = await bus.readWindow(config.deadLetters.topic, {
      from: 0,
      to: Number.MAX_SAFE_INTEGER,
      limit: 50_000_000,
    });
    const file = join(scratch, "dead_letters.ndjson");
    const decoder = new TextDecoder();
    await writeFile(file, messages.map((m) => decoder.decode(m.value)).join("\n"));
    await conn.run(
      `CREATE TABLE dead_letters AS SELECT * FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = ${DEAD_LETTER_COLUMNS})`,
    );
  } finally {
    await bus.close();
  }
}

async function loadSeries(
  conn: DuckDBConnection,
  config: Config,
  ctx: Context,
  scratch: string,
  withSketches: boolean,
): Promise<void> {
  const series = await createSeriesStore(config.series, ctx);
  try {
    for (const measurement of Object.values(MEASUREMENTS)) {
      if (measurement === MEASUREMENTS.sketches && !withSketches) continue;
      const points = await series.query({ measurement });
      const known = MEASUREMENT_SCHEMA[measurement]!;
      const tagKeys = new Set<string>(known.tags);
      const fieldTypes = new Map<string, string>(Object.entries(known.fields));
      for (const p of points) {
        for (const k of Object.keys(p.tags)) tagKeys.add(k);
        for (const [k, v] of Object.entries(p.fields)) {
          const t = typeof v === "string" ? "VARCHAR" : Number.isInteger(v) ? "BIGINT" : "DOUBLE";
          const seen = fieldTypes.get(k);
          fieldTypes.set(
            k,
            seen === undefined || seen === t ? t : seen === "VARCHAR" || t === "VARCHAR" ? "VARCHAR" : "DOUBLE",
          );
        }
      }
      const columns = [
        `"time": "BIGINT"`,
        ...[...tagKeys].sort().map((k) => `${JSON.stringify(k)}: "VARCHAR"`),
        ...[...fieldTypes].map(([k, t]) => `${JSON.stringify(k)}: "${t}"`),
      ];
      const file = join(scratch, `${measurement}.ndjson`);
      await writeFile(file, points.map((p) => JSON.stringify({ time: p.time, ...p.tags, ...p.fields })).join("\n"));
      await conn.run(
        `CREATE TABLE ${quoteIdent(measurement)} AS SELECT * FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = {${columns.join(", ")}})`,
      );
    }
  } finally {
    await series.close();
  }
}
