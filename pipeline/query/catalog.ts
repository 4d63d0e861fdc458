/**
 * The SQL catalog behind `logbench query` and the notebooks' data loaders: an in-memory DuckDB with
 *   events        the archived LogEvents (Parquet; an HDFS archive is mirrored to a local cache first)
 *   records       the archived records of every polling source (source, key, ts, record as JSON)
 *   dead_letters  every dead letter on the bus (raw line, source, file, line, offset, reason)
 *   gaps          offset ranges the bus deleted (retention) before the archive read them (gaps.ts)
 *   requests, requests_by_method, requests_by_status, top_paths, top_hosts
 *                 the series: columns time (epoch ms, the window start) + tags + fields
 *   <measurement> of each polling source: time (the record's ts) + source + its tags + its fields
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
import { PART_FILE_GLOB, parseDayDir, parseHourDir } from "../archive/layout.ts";
import type { Config } from "../config/schema.ts";
import { recordStreams } from "../ingest/registry.ts";
import { LOG_EVENT_COLUMNS } from "../model/log-event.ts";
import { MEASUREMENT_SCHEMA, MEASUREMENTS } from "../model/window.ts";
import { createGapsTable, readGaps } from "./gaps.ts";

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
  tables?: Array<"events" | "records" | "dead_letters" | "series" | "sketches" | "gaps">;
}

/** Open the catalog, run `fn`, clean up. */
export async function withCatalog<T>(
  config: Config,
  ctx: Context,
  fn: (conn: DuckDBConnection) => Promise<T>,
  options: CatalogOptions = {},
): Promise<T> {
  const want = new Set(options.tables ?? ["events", "records", "dead_letters", "series", "gaps"]);
  const scratch = await mkdtemp(join(tmpdir(), "logbench-query-"));
  try {
    return await withDuckDb(":memory:", {}, async (conn) => {
      if (want.has("events")) await loadEvents(conn, config, ctx);
      if (want.has("records")) await loadRecords(conn, config, ctx);
      if (want.has("dead_letters")) await loadDeadLetters(conn, config, ctx, scratch);
      if (want.has("series") || want.has("sketches"))
        await loadSeries(conn, config, ctx, scratch, want.has("sketches"));
      if (want.has("gaps")) await loadGaps(conn, config, ctx);
      return fn(conn);
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Tables a SQL text mentions, so `select count(*) from events` does not read the whole bus. `measurements` are the
 * configured record measurements, series tables beside the built-in ones.
 */
export function tablesIn(sql: string, measurements: string[] = []): NonNullable<CatalogOptions["tables"]> {
  // Words inside string literals and comments name no table (`where path = '/events'`, `select 'show me'`).
  const lower = sql.replace(SQL_LITERALS_AND_COMMENTS, " ").toLowerCase();
  const out: NonNullable<CatalogOptions["tables"]> = [];
  const mentions = (name: string) =>
    new RegExp(`\\b${name.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b`).test(lower);
  if (mentions("events")) out.push("events");
  if (mentions("records")) out.push("records");
  if (mentions("dead_letters")) out.push("dead_letters");
  if (mentions("gaps")) out.push("gaps");
  if ([...Object.values(MEASUREMENTS).filter((m) => m !== MEASUREMENTS.sketches), ...measurements].some(mentions))
    out.push("series");
  // The stored summaries are large next to the numbers: loaded only when asked for by name.
  if (mentions("sketches")) out.push("sketches");
  if (out.length) return out;
  // A query of the catalog itself (`show tables`, `describe`, information_schema, duckdb_views()) needs every
  // table; any other query that names none (`select 1`, a read_parquet of a file) needs none.
  return CATALOG_QUERY.test(lower) ? ["events", "records", "dead_letters", "series", "gaps"] : [];
}

const CATALOG_QUERY = /\b(show|describe|information_schema|pragma|duckdb_\w+)\b/;
/** 'strings' (with '' inside), E'strings' (with \' too), -- line comments and block comments (DuckDB's SQL). */
const SQL_LITERALS_AND_COMMENTS = /[eE]'(?:[^'\\]|\\.|'')*'|'(?:[^']|'')*'|--[^\n]*|\/\*[\s\S]*?\*\//g;

export async function runSql(config: Config, ctx: Context, sql: string): Promise<Record<string, unknown>[]> {
  const measurements = recordStreams(config.sources, config.topic).map((s) => s.measurement);
  return withCatalog(config, ctx, (conn) => queryRows(conn, sql), { tables: tablesIn(sql, measurements) });
}

/** Local folders of these archive topics (an HDFS archive is mirrored to stateDir/archive-cache first). */
async function topicDirs(config: Config, ctx: Context, topics: string[]): Promise<string[]> {
  const store = await createArchiveStore(config.archive, ctx);
  try {
    let root = localRootOf(store);
    if (!root) {
      root = join(config.stateDir, "archive-cache");
      for (const topic of topics) await syncArchive(store, topic, join(root, topic));
    }
    return topics.map((topic) => join(root, topic));
  } finally {
    await store.close();
  }
}

async function loadGaps(conn: DuckDBConnection, config: Config, ctx: Context): Promise<void> {
  const store = await createArchiveStore(config.archive, ctx);
  try {
    const topics = [config.topic, ...recordStreams(config.sources, config.topic).map((s) => s.topic)];
    await createGapsTable(conn, await readGaps(store, topics));
  } finally {
    await store.close();
  }
}

const partGlob = (dir: string) => join(dir, ...PART_FILE_GLOB);

async function loadEvents(conn: DuckDBConnection, config: Config, ctx: Context): Promise<void> {
  const [dir] = await topicDirs(config, ctx, [config.topic]);
  await createEventsView(conn, (await hasParquet(dir!)) ? [partGlob(dir!)] : []);
}

/** `records`: every polling source's archived records, `record` as JSON (`record->>'Nation'`). */
async function loadRecords(conn: DuckDBConnection, config: Config, ctx: Context): Promise<void> {
  const topics = recordStreams(config.sources, config.topic).map((s) => s.topic);
  const globs: string[] = [];
  for (const dir of await topicDirs(config, ctx, topics)) if (await hasParquet(dir)) globs.push(partGlob(dir));
  const select = "SELECT source, key, ts, CAST(record AS JSON) AS record";
  if (globs.length === 0) {
    await conn.run(
      "CREATE VIEW records AS SELECT CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS key, CAST(NULL AS BIGINT) AS ts, CAST(NULL AS JSON) AS record WHERE false",
    );
    return;
  }
  const list = globs.map(quoteLiteral).join(", ");
  await conn.run(`CREATE VIEW records AS ${select} FROM read_parquet([${list}], hive_partitioning = false)`);
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
      if (parseDayDir(day) !== null)
        for (const hour of await readdir(join(dir, day)))
          if (parseHourDir(hour) !== null && (await readdir(join(dir, day, hour))).some((f) => f.endsWith(".parquet")))
            return true;
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
    // Record measurements' field types come from their points (BIGINT while every value is an integer).
    const recordSchemas = recordStreams(config.sources, config.topic).map((s) => ({
      measurement: s.measurement,
      tags: ["source", ...s.tags],
      fields: s.fields,
    }));
    const schemas = [
      ...Object.values(MEASUREMENTS)
        .filter((m) => m !== MEASUREMENTS.sketches || withSketches)
        .map((m) => ({ measurement: m, known: MEASUREMENT_SCHEMA[m]!, fill: [] })),
      ...recordSchemas.map((r) => ({
        measurement: r.measurement,
        known: { tags: r.tags, fields: {} },
        fill: r.fields,
      })),
    ];
    for (const { measurement, known, fill } of schemas) {
      const points = await series.query({ measurement });
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
      for (const f of fill) if (!fieldTypes.has(f)) fieldTypes.set(f, "DOUBLE");
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
