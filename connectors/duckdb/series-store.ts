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
 * and keeps the others (InfluxDB field merge), through one MERGE INTO per measurement. A write's points are kept
 * in columns (series-rows.ts) until its transaction appends them; `writeColumns` takes a writer's columns as they
 * are, with no object per point. Each `write` is one
 * transaction; writes made while one is under way are merged into the next transaction (group commit), each
 * caller still hearing about its own points only. The file is held open between writes and given up to
 * another process that asks for it, or after 3 s without writes (holdDuckDb in connection.ts); queries
 * use the held connection when it is open and a read-only open otherwise. Names are DuckDB identifiers,
 * which compare case-insensitively: "Method" and "method" are one column.
 */

import type { Context } from "../context.ts";
import { LogbenchError, wrapError } from "../errors.ts";
import { rowsIn } from "../series-columns.ts";
import type { SeriesPoint, SeriesQuery, SeriesStore } from "../types.ts";
import type { DuckDbSeriesConfig } from "./config.ts";
import { type DuckDBConnection, holdDuckDb, queryRows, quoteIdent, quoteLiteral, withDuckDb } from "./connection.ts";
import {
  columnsToRows,
  concatRows,
  type FieldValue,
  foldRepeats,
  type MeasurementRows,
  oneValue,
  type RowColumn,
  toRows,
} from "./series-rows.ts";
import { type ColumnKind, SchemaCache, TAG_COMMENT, tableColumns } from "./series-schema.ts";

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

  const transaction = (conn: DuckDBConnection, writes: Array<Map<string, MeasurementRows>>) =>
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
        for (const [measurement, rows] of concatRows(writes))
          plans.push(await prepareMeasurement(conn, measurement, rows, schemas, plans.length));
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
              batch.map((w) => w.rows),
            ),
          );
          for (const w of batch) w.resolve();
        } catch (err) {
          if (batch.length === 1) batch[0]!.reject(err);
          else {
            // One caller's points may be what failed: give each its own transaction and its own answer.
            for (const w of batch) {
              await db()
                .use((conn) => transaction(conn, [w.rows]))
                .then(w.resolve, w.reject);
            }
          }
        }
      }
    } finally {
      writing = false;
    }
  };

  /** Queues a write's rows for the next transaction; resolves when that transaction has committed them. */
  const enqueue = async (rows: Map<string, MeasurementRows>, points: number) => {
    if (rows.size === 0) return;
    try {
      await new Promise<void>((resolve, reject) => {
        pending.push({ rows, resolve, reject });
        if (!writing) void drain();
      });
    } catch (err) {
      throw wrapError(`writing ${points} points to DuckDB file ${file}`, err);
    }
  };

  return {
    kind: "duckdb",

    async write(points) {
      assertOpen();
      await enqueue(toRows(points), points.length);
    },

    async writeColumns(columns) {
      assertOpen();
      await enqueue(columnsToRows(columns), rowsIn(columns));
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
  rows: Map<string, MeasurementRows>;
  resolve(): void;
  reject(err: unknown): void;
}

/** One measurement's part of a write: its rows, the columns they fill, and the temp table they go through. */
interface MeasurementWrite {
  table: string;
  /** This write's temp table for the measurement (in temp.main). */
  incoming: string;
  rows: MeasurementRows;
  /** Rows folded into an earlier one with the same time and tags (not appended), or null for none. */
  folded: Uint8Array | null;
  /**
   * Every tag column of the table, each with the rows' values for it (null: no row has that tag). `fixed`: the one
   * value all rows have ("" for none), which the MERGE takes as a constant instead of a column of the temp table.
   */
  tagCols: Array<{ name: string; source: RowColumn<string> | null; fixed?: string }>;
  fieldCols: Array<{ name: string; kind: ColumnKind; source: RowColumn<FieldValue> }>;
}

/**
 * The column kind a field's values need: strings, or numbers (BIGINT while every one is a safe integer); null when
 * no row carries it (the write leaves that field alone, whatever its column holds).
 */
function columnKind(measurement: string, col: RowColumn<FieldValue>): ColumnKind | null {
  let kind: ColumnKind | null = null;
  for (const v of col.values) {
    if (v === undefined) continue;
    const k = typeof v === "string" ? "VARCHAR" : Number.isSafeInteger(v) ? "BIGINT" : "DOUBLE";
    if (kind !== null && (kind === "VARCHAR") !== (k === "VARCHAR"))
      throw new LogbenchError("BAD_REQUEST", `field "${col.name}" of ${measurement} gets both strings and numbers`);
    if (kind !== "DOUBLE") kind = k;
  }
  return kind;
}

/** Checks the rows against the measurement's table and creates or widens it (rare: its own statements). */
async function prepareMeasurement(
  conn: DuckDBConnection,
  measurement: string,
  rows: MeasurementRows,
  schemas: SchemaCache,
  index: number,
): Promise<MeasurementWrite> {
  const table = quoteIdent(measurement);
  const wanted = new Map<string, ColumnKind>();
  // A column no row carries is not part of the write (a writer's columns may have one).
  for (const col of rows.tags.byLower.values())
    if (col.values.some((v) => v !== undefined && v !== "")) wanted.set(col.name, "tag");
  for (const col of rows.fields.byLower.values()) {
    const kind = columnKind(measurement, col);
    if (kind) wanted.set(col.name, kind);
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
  // Column positions are resolved here, once per write: the appends read the rows' values by position.
  const tagCols: MeasurementWrite["tagCols"] = [];
  const fieldCols: MeasurementWrite["fieldCols"] = [];
  /** The tag columns whose values differ between rows: what tells a repeated key apart (foldRepeats). */
  const varying: RowColumn<string>[] = [];
  for (const [name, kind] of columns) {
    if (kind === "tag") {
      // A tag every row has the same value of (the aggregate's window and source, a partition's flush, the tags a
      // write does not carry) is not appended row by row: most of the appender's calls were such values.
      const source = rows.tags.get(name) ?? null;
      const fixed = source ? oneValue(source.values, rows.time.length) : "";
      if (source && fixed === undefined) varying.push(source);
      tagCols.push(fixed === undefined || fixed.includes("\0") ? { name, source } : { name, source, fixed });
    } else {
      const source = rows.fields.get(name);
      if (source && wanted.has(source.name)) fieldCols.push({ name, kind, source });
    }
  }
  return { table, incoming: `${INCOMING}_${index}`, rows, folded: foldRepeats(rows, varying), tagCols, fieldCols };
}

function createIncomingSql(plan: MeasurementWrite): string {
  // Epoch milliseconds, made a TIMESTAMP by the MERGE: an appended TIMESTAMP needed two BigInts and an object a row.
  const defs = [
    "time BIGINT",
    ...plan.tagCols.filter((c) => c.fixed === undefined).map((c) => `${quoteIdent(c.name)} VARCHAR`),
    ...plan.fieldCols.map((f) => `${quoteIdent(f.name)} ${f.kind}`),
  ];
  return `CREATE OR REPLACE TEMP TABLE ${plan.incoming} (${defs.join(", ")})`;
}

async function appendIncoming(conn: DuckDBConnection, plan: MeasurementWrite): Promise<void> {
  const { rows, folded, fieldCols } = plan;
  const tagCols = plan.tagCols.filter((c) => c.fixed === undefined);
  const appender = await conn.createAppender(plan.incoming, "main", "temp");
  // Numbers go in as doubles, BIGINT columns too: DuckDB's appender casts them, exactly for the safe integers that
  // are all a BIGINT column gets (columnKind), with no BigInt made per value.
  for (let i = 0; i < rows.time.length; i++) {
    if (folded?.[i]) continue;
    appender.appendDouble(rows.time[i]!);
    for (const c of tagCols) {
      const v = c.source?.values[i];
      if (v === undefined || v === "") appender.appendNull();
      else appender.appendVarchar(v);
    }
    for (const f of fieldCols) {
      const v = f.source.values[i];
      if (v === undefined) appender.appendNull();
      else if (typeof v === "string") appender.appendVarchar(v);
      else appender.appendDouble(v);
    }
    appender.endRow();
  }
  appender.closeSync();
}

/** Field merge as InfluxDB does it: a point already there keeps the fields this write does not carry. */
function mergeSql({ table, incoming, tagCols, fieldCols }: MeasurementWrite): string {
  const tags = tagCols.map((c) => quoteIdent(c.name));
  const fields = fieldCols.map((f) => quoteIdent(f.name));
  const on = ["t.time = i.time", ...tags.map((k) => `t.${k} IS NOT DISTINCT FROM i.${k}`)];
  const sets = fields.map((f) => `${f} = COALESCE(i.${f}, t.${f})`);
  const insertCols = ["time", ...tags, ...fields];
  const tagValues = tagCols.map((c, i) =>
    c.fixed === undefined ? tags[i] : `${c.fixed === "" ? "NULL::VARCHAR" : quoteLiteral(c.fixed)} AS ${tags[i]}`,
  );
  const source = `SELECT epoch_ms(time) AS time${[...tagValues, ...fields].map((c) => `, ${c}`).join("")} FROM temp.main.${incoming}`;
  return `MERGE INTO ${table} AS t USING (${source}) AS i ON ${on.join(" AND ")}
     WHEN MATCHED THEN UPDATE SET ${sets.join(", ")}
     WHEN NOT MATCHED THEN INSERT (${insertCols.join(", ")}) VALUES (${insertCols.map((c) => `i.${c}`).join(", ")})`;
}

function sqlType(kind: ColumnKind): string {
  return kind === "tag" ? "VARCHAR" : kind;
}

async function markTag(conn: DuckDBConnection, table: string, column: string): Promise<void> {
  await conn.run(`COMMENT ON COLUMN ${table}.${quoteIdent(column)} IS '${TAG_COMMENT}'`);
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
