/**
 * SeriesStore on a local DuckDB file (the embedded default), with InfluxDB's write semantics.
 *
 * Layout, one table per measurement, so `logbench query "select * from requests"` reads naturally:
 *   time  TIMESTAMP NOT NULL   -- UTC, millisecond precision (window start for aggregates)
 *   <tag> VARCHAR              -- one per tag key ever written, NULL when a point lacks that tag; marked
 *                                 with the column comment 'logbench:tag' (string fields are VARCHAR too)
 *   <field> BIGINT | DOUBLE | VARCHAR -- one per field key; BIGINT while every value was a safe integer,
 *                                 widened to DOUBLE when a fractional value arrives (InfluxDB would refuse);
 *                                 a number into a VARCHAR field or a string into a numeric one is BAD_REQUEST
 * TIMESTAMP rather than epoch-ms BIGINT because analysts use date_trunc/time_bucket and charts on it;
 * `epoch_ms(time)` gives the number back. New tag or field keys are added with ALTER TABLE.
 *
 * A point is identified by (time, tag set): a second write of the same point updates the fields it carries
 * and keeps the others (InfluxDB field merge), through one MERGE INTO per measurement. Each `write` is one
 * transaction; writes made while one is under way are merged into the next transaction (group commit), each
 * caller still hearing about its own points only. The file is held open between writes and given up to
 * another process that asks for it, or after 3 s without writes (holdDuckDb in connection.ts); queries
 * use the held connection when it is open and a read-only open otherwise. Names are DuckDB identifiers,
 * which compare case-insensitively: "Method" and "method" are one column.
 */

import type { Context } from "../context.ts";
import { LogbenchError, wrapError } from "../errors.ts";
import type { SeriesPoint, SeriesQuery, SeriesStore } from "../types.ts";
import type { DuckDbSeriesConfig } from "./config.ts";
import { type DuckDBConnection, holdDuckDb, queryRows, quoteIdent, withDuckDb } from "./connection.ts";
import { DuckDBTimestampValue } from "./node-api.ts";
import {
  type ColumnKind,
  type FieldValue,
  type GroupedPoints,
  type MergedPoint,
  mergeGroups,
  SchemaCache,
  TAG_COMMENT,
  tableColumns,
} from "./series-schema.ts";

export interface DuckDbSeriesOptions {
  /** How long a write or query waits for another process to release the file (default 10 s). */
  lockTimeoutMs?: number;
}

const INCOMING = "logbench_incoming";
const HELD_MEMORY_LIMIT = "64MB";

export function createDuckDbSeriesStore(
  config: DuckDbSeriesConfig,
  ctx: Context,
  options: DuckDbSeriesOptions = {},
): SeriesStore {
  const file = config.file;
  const open = { lockTimeoutMs: options.lockTimeoutMs, signal: ctx.signal };
  let closed = false;
  const assertOpen = () => {
    if (closed) throw new LogbenchError("INTERNAL", `DuckDB series store ${file} is closed`);
  };
  let held: ReturnType<typeof holdDuckDb> | null = null;
  const db = () => {
    // One thread and a bounded cache: the daemon's memory target is for the whole process (docs/benchmarks.md).
    held ??= holdDuckDb(file, { ...open, settings: { threads: "1", memory_limit: HELD_MEMORY_LIMIT } });
    return held;
  };
  /** Columns per measurement as read under one open of the file (another process may change them between). */
  const schemas = new SchemaCache();
  /** Writes waiting for the transaction under way; the next one takes them all. */
  let pending: PendingWrite[] = [];
  let writing = false;

  const transaction = (conn: DuckDBConnection, groups: GroupedPoints[]) =>
    (async () => {
      schemas.validFor(held!.generation);
      await conn.run("BEGIN TRANSACTION");
      try {
        // Three round trips to DuckDB per transaction whatever the number of measurements (schema changes aside):
        // the BEGIN, one script of every temp table, and after the appends (synchronous, none) one script of every
        // MERGE, DROP and the COMMIT. A statement each was 35 round trips on the aggregate's 11 measurements, each
        // waiting its turn in libuv's pool behind the archive's file work: most of a write's time
        // (docs/benchmarks.md). DuckDB stops a script at its first failing statement; the ROLLBACK below undoes the
        // rest, temp tables included.
        const plans: MeasurementWrite[] = [];
        for (const [measurement, merged] of mergeGroups(groups))
          plans.push(await prepareMeasurement(conn, measurement, merged, schemas, plans.length));
        if (plans.length > 0) await conn.run(plans.map(createIncomingSql).join(";\n"));
        for (const plan of plans) await appendIncoming(conn, plan);
        await conn.run(
          [...plans.flatMap((plan) => [mergeSql(plan), `DROP TABLE temp.main.${plan.incoming}`]), "COMMIT"].join(";\n"),
        );
      } catch (err) {
        schemas.clear();
        await conn.run("ROLLBACK").catch(() => undefined);
        throw err;
      }
    })();

  const drain = async () => {
    writing = true;
    try {
      while (pending.length > 0) {
        const batch = pending.splice(0);
        try {
          await db().use((conn) =>
            transaction(
              conn,
              batch.map((w) => w.groups),
            ),
          );
          for (const w of batch) w.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else {
            // One caller's points may be what failed: give each its own transaction and its own answer.
            for (const w of batch) {
              await db()
                .use((conn) => transaction(conn, [w.groups]))
                .then(w.resolve, w.reject);
            }
          }
        }
      }
    } finally {
      writing = false;
    }
  };

  return {
    kind: "duckdb",

    async write(points) {
      assertOpen();
      const groups = groupPoints(points);
      if (groups.size === 0) return;
      try {
        await new Promise<void>((resolve, reject) => {
          pending.push({ groups, resolve, reject });
          if (!writing) void drain();
        });
      } catch (err) {
        throw wrapError(`writing ${points.length} points to DuckDB file ${file}`, err);
      }
    },

    async query(q) {
      assertOpen();
      try {
        if (held?.isOpen) return await held.use((conn) => queryMeasurement(conn, q));
        return await withDuckDb(file, { ...open, readOnly: true }, (conn) => queryMeasurement(conn, q));
      } catch (err) {
        if (err instanceof LogbenchError && err.code === "NOT_FOUND") return [];
        throw wrapError(`querying ${q.measurement} in DuckDB file ${file}`, err);
      }
    },

    async measurements() {
      assertOpen();
      try {
        return await withDuckDb(file, { ...open, readOnly: true }, async (conn) => {
          const rows = await queryRows(
            conn,
            `SELECT DISTINCT table_name AS name FROM duckdb_columns()
             WHERE database_name = current_database() AND schema_name = 'main'
               AND column_name = 'time' AND data_type = 'TIMESTAMP' ORDER BY 1`,
          );
          return rows.map((r) => String(r.name));
        });
      } catch (err) {
        if (err instanceof LogbenchError && err.code === "NOT_FOUND") return [];
        throw wrapError(`listing measurements in DuckDB file ${file}`, err);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      while (writing) await new Promise((r) => setTimeout(r, 5));
      pending = [];
      await held?.close();
    },
  };
}

interface PendingWrite {
  groups: GroupedPoints;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Validates, then merges points with the same measurement, time and tag set (later fields win). This runs for
 * every point the aggregate writes (several per window), so it keeps to plain loops: the Object.entries, spreads,
 * sorts and closures it was written with first were about a third of everything the daemon allocated.
 */
function groupPoints(points: SeriesPoint[]): GroupedPoints {
  const out = new Map<string, Map<string, MergedPoint>>();
  const names: string[] = [];
  const parts: Array<string | number> = [];
  for (const p of points) {
    validatePoint(p);
    // The tag names in order for the series key, without empty values (an empty tag is no tag). The point's own
    // objects are kept, not copied: a caller does not change a point while its write is pending.
    let tags = p.tags;
    names.length = 0;
    for (const k in p.tags) {
      if (p.tags[k] !== "") insertSorted(names, k);
      else if (tags === p.tags) tags = withoutEmpty(p.tags);
    }
    const time = Math.floor(p.time);
    // The series key: time, then each tag name and value, joined once. Concatenating it a piece at a time left a
    // string per piece, and the keys live as long as the write (5-16 % of the daemon's CPU in A/B pairs at 300 k lines,
    // docs/benchmarks.md). A tag value with U+0001 in it could meet another series' key; "," and "=" in values, as
    // in the key this replaced, were far likelier.
    parts.length = 1;
    parts[0] = time;
    for (const name of names) parts.push(name, tags[name]!);
    const key = parts.join("\u0001");
    let series = out.get(p.measurement);
    if (!series) {
      series = new Map();
      out.set(p.measurement, series);
    }
    const existing = series.get(key);
    if (existing) existing.fields = { ...existing.fields, ...p.fields };
    else series.set(key, { time, tags, fields: p.fields });
  }
  return out;
}

function withoutEmpty(tags: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in tags) if (tags[k] !== "") out[k] = tags[k]!;
  return out;
}

/** Insertion into a short sorted list (a point has a handful of tags): no sort's work array per point. */
function insertSorted(list: string[], k: string): void {
  let i = list.length;
  list.push(k);
  while (i > 0 && list[i - 1]! > k) {
    list[i] = list[i - 1]!;
    i--;
  }
  list[i] = k;
}

function badPoint(p: SeriesPoint, why: string): LogbenchError {
  return new LogbenchError("BAD_REQUEST", `point of "${p.measurement}" at ${p.time}: ${why}`, { retryable: false });
}

function validatePoint(p: SeriesPoint): void {
  if (!p.measurement) throw badPoint(p, "empty measurement name");
  if (!Number.isFinite(p.time)) throw badPoint(p, "time is not a finite number");
  let fields = 0;
  for (const k in p.fields) {
    fields++;
    const v = p.fields[k];
    if (typeof v !== "string" && (typeof v !== "number" || !Number.isFinite(v)))
      throw badPoint(p, `field "${k}" is not a finite number or a string`);
    if (k === "" || k.toLowerCase() === "time") throw badPoint(p, `"${k}" cannot be a tag or field name`);
  }
  if (fields === 0) throw badPoint(p, "a point needs at least one field");
  for (const k in p.tags) {
    if (k === "" || k.toLowerCase() === "time") throw badPoint(p, `"${k}" cannot be a tag or field name`);
    if (Object.hasOwn(p.fields, k)) throw badPoint(p, `"${k}" is both a tag and a field`);
  }
}

/** One measurement's part of a write: its points, the columns they fill, and the temp table they go through. */
interface MeasurementWrite {
  table: string;
  /** This write's temp table for the measurement (in temp.main). */
  incoming: string;
  merged: Map<string, MergedPoint>;
  tagCols: string[];
  fieldCols: Array<{ name: string; kind: ColumnKind }>;
}

/** Checks the points against the measurement's table and creates or widens it (rare: its own statements). */
async function prepareMeasurement(
  conn: DuckDBConnection,
  measurement: string,
  merged: Map<string, MergedPoint>,
  schemas: SchemaCache,
  index: number,
): Promise<MeasurementWrite> {
  const table = quoteIdent(measurement);
  const wanted = new Map<string, ColumnKind>();
  for (const p of merged.values()) {
    for (const k in p.tags) wanted.set(k, "tag");
    for (const k in p.fields) {
      const kind = fieldKind(p.fields[k]!);
      const before = wanted.get(k);
      if (before !== undefined && (before === "VARCHAR") !== (kind === "VARCHAR")) {
        throw new LogbenchError("BAD_REQUEST", `field "${k}" of ${measurement} gets both strings and numbers`);
      }
      if (before !== "DOUBLE") wanted.set(k, kind);
    }
  }
  const existing = await schemas.columns(conn, measurement);
  if (existing === null) {
    schemas.forget(measurement);
    const defs = [...wanted].map(([k, kind]) => `${quoteIdent(k)} ${sqlType(kind)}`);
    await conn.run(`CREATE TABLE ${table} (time TIMESTAMP NOT NULL, ${defs.join(", ")})`);
    for (const [k, kind] of wanted) if (kind === "tag") await markTag(conn, table, k);
  } else {
    const lower = new Map([...existing].map(([k, kind]) => [k.toLowerCase(), { name: k, kind }]));
    for (const [k, kind] of wanted) {
      const have = lower.get(k.toLowerCase());
      if (!have) {
        schemas.forget(measurement);
        await conn.run(`ALTER TABLE ${table} ADD COLUMN ${quoteIdent(k)} ${sqlType(kind)}`);
        if (kind === "tag") await markTag(conn, table, k);
      } else if ((have.kind === "tag") !== (kind === "tag")) {
        const role = (c: ColumnKind) => (c === "tag" ? "tag" : "field");
        throw new LogbenchError(
          "BAD_REQUEST",
          `"${k}" of ${measurement} is a ${role(have.kind)} already, it cannot become a ${role(kind)}`,
        );
      } else if ((have.kind === "VARCHAR") !== (kind === "VARCHAR")) {
        throw new LogbenchError(
          "BAD_REQUEST",
          `field type conflict: "${k}" of ${measurement} holds ${have.kind === "VARCHAR" ? "strings" : "numbers"}, got a ${kind === "VARCHAR" ? "string" : "number"}`,
        );
      } else if (have.kind === "BIGINT" && kind === "DOUBLE") {
        schemas.forget(measurement);
        await conn.run(`ALTER TABLE ${table} ALTER COLUMN ${quoteIdent(have.name)} TYPE DOUBLE`);
      }
    }
  }
  const columns = (await schemas.columns(conn, measurement)) ?? new Map<string, ColumnKind>();
  const tagCols = [...columns].filter(([, kind]) => kind === "tag").map(([k]) => k);
  const fieldCols = [...columns]
    .filter(([k, kind]) => kind !== "tag" && wanted.has(k))
    .map(([k, kind]) => ({ name: k, kind }));

  return { table, incoming: `${INCOMING}_${index}`, merged, tagCols, fieldCols };
}

function createIncomingSql(plan: MeasurementWrite): string {
  const defs = [
    "time TIMESTAMP",
    ...plan.tagCols.map((k) => `${quoteIdent(k)} VARCHAR`),
    ...plan.fieldCols.map((f) => `${quoteIdent(f.name)} ${f.kind}`),
  ];
  return `CREATE OR REPLACE TEMP TABLE ${plan.incoming} (${defs.join(", ")})`;
}

async function appendIncoming(conn: DuckDBConnection, plan: MeasurementWrite): Promise<void> {
  const { tagCols, fieldCols } = plan;
  const appender = await conn.createAppender(plan.incoming, "main", "temp");
  for (const p of plan.merged.values()) {
    appender.appendTimestamp(new DuckDBTimestampValue(BigInt(p.time) * 1000n));
    for (const k of tagCols) {
      const v = findKey(p.tags, k);
      if (v === undefined) appender.appendNull();
      else appender.appendVarchar(v);
    }
    for (const f of fieldCols) {
      const v = findKey(p.fields, f.name);
      if (v === undefined) appender.appendNull();
      else if (typeof v === "string") appender.appendVarchar(v);
      else if (f.kind === "BIGINT") appender.appendBigInt(BigInt(v));
      else appender.appendDouble(v);
    }
    appender.endRow();
  }
  appender.closeSync();
}

/** Field merge as InfluxDB does it: a point already there keeps the fields this write does not carry. */
function mergeSql({ table, incoming, tagCols, fieldCols }: MeasurementWrite): string {
  const on = ["t.time = i.time", ...tagCols.map((k) => `t.${quoteIdent(k)} IS NOT DISTINCT FROM i.${quoteIdent(k)}`)];
  const sets = fieldCols.map(
    (f) => `${quoteIdent(f.name)} = COALESCE(i.${quoteIdent(f.name)}, t.${quoteIdent(f.name)})`,
  );
  const insertCols = ["time", ...tagCols, ...fieldCols.map((f) => f.name)].map(quoteIdent);
  return `MERGE INTO ${table} AS t USING temp.main.${incoming} AS i ON ${on.join(" AND ")}
     WHEN MATCHED THEN UPDATE SET ${sets.join(", ")}
     WHEN NOT MATCHED THEN INSERT (${insertCols.join(", ")}) VALUES (${insertCols.map((c) => `i.${c}`).join(", ")})`;
}

function fieldKind(v: FieldValue): ColumnKind {
  return typeof v === "string" ? "VARCHAR" : Number.isSafeInteger(v) ? "BIGINT" : "DOUBLE";
}

function sqlType(kind: ColumnKind): string {
  return kind === "tag" ? "VARCHAR" : kind;
}

async function markTag(conn: DuckDBConnection, table: string, column: string): Promise<void> {
  await conn.run(`COMMENT ON COLUMN ${table}.${quoteIdent(column)} IS '${TAG_COMMENT}'`);
}

/** Case-insensitive lookup, matching DuckDB's identifier rules. */
function findKey<T>(record: Record<string, T>, column: string): T | undefined {
  if (column in record) return record[column];
  const lower = column.toLowerCase();
  for (const [k, v] of Object.entries(record)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

async function queryMeasurement(conn: DuckDBConnection, q: SeriesQuery): Promise<SeriesPoint[]> {
  const columns = await tableColumns(conn, q.measurement);
  if (!columns) return [];
  const lower = new Map([...columns.keys()].map((k) => [k.toLowerCase(), k]));
  const where: string[] = [];
  const params: (string | number)[] = [];
  if (q.from !== undefined) {
    params.push(Math.floor(q.from));
    where.push(`time >= epoch_ms($${params.length}::BIGINT)`);
  }
  if (q.to !== undefined) {
    params.push(Math.floor(q.to));
    where.push(`time < epoch_ms($${params.length}::BIGINT)`);
  }
  for (const [k, v] of Object.entries(q.tags ?? {})) {
    const col = lower.get(k.toLowerCase());
    if (v === "") {
      if (col) where.push(`${quoteIdent(col)} IS NULL`);
      continue;
    }
    if (!col || columns.get(col) !== "tag") return [];
    params.push(v);
    where.push(`${quoteIdent(col)} = $${params.length}`);
  }
  const names = [...columns.keys()];
  const select = ["epoch_ms(time) AS time", ...names.map((k) => `${quoteIdent(k)} AS ${quoteIdent(`c_${k}`)}`)];
  const rows = await queryRows(
    conn,
    `SELECT ${select.join(", ")} FROM ${quoteIdent(q.measurement)}` +
      (where.length ? ` WHERE ${where.join(" AND ")}` : ""),
    params,
  );
  const points: SeriesPoint[] = rows.map((row) => {
    const tags: Record<string, string> = {};
    const fields: Record<string, FieldValue> = {};
    for (const k of names) {
      const v = row[`c_${k}`];
      if (v === null || v === undefined) continue;
      const kind = columns.get(k);
      if (kind === "tag") tags[k] = String(v);
      else fields[k] = kind === "VARCHAR" ? String(v) : Number(v);
    }
    return { measurement: q.measurement, tags, fields, time: Number(row.time) };
  });
  return points.filter((p) => Object.keys(p.fields).length > 0).sort(comparePoints);
}

/** The SeriesStore order: time, then the tag set as "k=v,k2=v2" with keys sorted. */
function comparePoints(a: SeriesPoint, b: SeriesPoint): number {
  if (a.time !== b.time) return a.time - b.time;
  const ka = tagSetKey(a.tags);
  const kb = tagSetKey(b.tags);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function tagSetKey(tags: Record<string, string>): string {
  return Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(",");
}
