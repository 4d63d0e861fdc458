/**
 * Encodes rows (LogEvents, or API records) as one Parquet file with DuckDB (in memory; the file is staged in a local temp folder and
 * its bytes handed to the ArchiveStore, so HDFS and local archives share one path).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  DuckDBTimestampMillisecondsValue,
} from "@duckdb/node-api";
import { quoteLiteral } from "../../connectors/duckdb/connection.ts";
import type { LogEvent } from "../model/log-event.ts";
import type { RecordMessage } from "../model/record.ts";
import { markTimestampUtc } from "./parquet-utc.ts";

/** The Parquet columns of one kind of row and how a row fills them. */
export interface RowLayout<R> {
  /** Column definitions of a DuckDB CREATE TABLE. */
  columns: string;
  append(appender: DuckDBAppender, row: R): void;
  /** The layout has one TIMESTAMP_MS column to be marked as a UTC instant in the file's footer (parquet-utc.ts). */
  utcTimestamp?: boolean;
  /**
   * The same columns from the bus message's JSON text: a SELECT list over DuckDB's read_json with these typed
   * keys (keys a message lacks are NULL, others are ignored). When set, the archive keeps each message's bytes
   * instead of a decoded row and DuckDB parses them on its own thread: no per-value appends from JavaScript,
   * and about a third of the memory per buffered record.
   */
  fromJson?: { keys: string; select: string };
}

/**
 * `ts` is a TIMESTAMP in milliseconds, marked as UTC (parquet-utc.ts), so Spark, Trino and Hive read a time, not a
 * number. The Hive partition columns dt and hour are in the path only, as those engines expect.
 */
const EVENT_COLUMNS = `ts TIMESTAMP_MS, host VARCHAR, ident VARCHAR, "user" VARCHAR, method VARCHAR, path VARCHAR, query VARCHAR,
  protocol VARCHAR, status INTEGER, bytes BIGINT, referrer VARCHAR, agent VARCHAR, source VARCHAR, raw VARCHAR`;

export type Compression = "zstd" | "snappy" | "gzip" | "uncompressed";

export class ParquetEncoder {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly conn: DuckDBConnection,
    private readonly dir: string,
  ) {}

  /** `scratchDir`: where files are staged (the daemon's state folder, so Deno needs no access beyond it). */
  static async create(scratchDir: string = tmpdir()): Promise<ParquetEncoder> {
    const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
    const conn = await instance.connect();
    await mkdir(scratchDir, { recursive: true });
    const dir = await mkdtemp(join(scratchDir, "parquet-"));
    return new ParquetEncoder(instance, conn, dir);
  }

  private seq = 0;
  /** One statement at a time on the one connection: rolls of several partitions call encode() concurrently. */
  private queue: Promise<unknown> = Promise.resolve();

  encode(events: LogEvent[], compression: Compression): Promise<Uint8Array> {
    return this.encodeRows(events, EVENT_LAYOUT, compression);
  }

  encodeRows<R>(rows: R[], layout: RowLayout<R>, compression: Compression): Promise<Uint8Array> {
    const run = this.queue.then(() => this.encodeNow(rows, layout, compression));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Encode bus messages (one JSON object each) of a layout with `fromJson`. */
  encodeJson(values: Uint8Array[], layout: RowLayout<unknown>, compression: Compression): Promise<Uint8Array> {
    const run = this.queue.then(() => this.encodeJsonNow(values, layout, compression));
    this.queue = run.catch(() => {});
    return run;
  }

  private async encodeJsonNow(
    values: Uint8Array[],
    layout: RowLayout<unknown>,
    compression: Compression,
  ): Promise<Uint8Array> {
    const { fromJson } = layout;
    if (!fromJson) throw new Error("encodeJson: the layout has no fromJson");
    const name = `json_${++this.seq}`;
    const input = join(this.dir, `${name}.ndjson`);
    const file = join(this.dir, `${name}.parquet`);
    let size = 0;
    for (const v of values) size += v.length + 1;
    const lines = Buffer.allocUnsafe(size);
    let at = 0;
    for (const v of values) {
      lines.set(v, at);
      at += v.length;
      lines[at++] = 10;
    }
    try {
      await writeFile(input, lines);
      // One thread: rows keep the order of the messages (their offsets).
      await this.conn.run(
        `COPY (SELECT ${fromJson.select} FROM read_json(${quoteLiteral(input)}, format = 'newline_delimited', ` +
          `columns = ${fromJson.keys}, maximum_object_size = ${Math.max(16 * 1024 * 1024, 2 * maxLength(values))})) ` +
          `TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION ${compression})`,
      );
      const bytes = new Uint8Array(await readFile(file));
      return layout.utcTimestamp ? markTimestampUtc(bytes) : bytes;
    } finally {
      await rm(input, { force: true });
      await rm(file, { force: true });
    }
  }

  private async encodeNow<R>(rows: R[], layout: RowLayout<R>, compression: Compression): Promise<Uint8Array> {
    const table = `batch_${++this.seq}`;
    const file = join(this.dir, `${table}.parquet`);
    await this.conn.run(`CREATE TABLE ${table} (${layout.columns})`);
    try {
      const appender = await this.conn.createAppender(table);
      for (const row of rows) {
        layout.append(appender, row);
        appender.endRow();
      }
      appender.closeSync();
      await this.conn.run(`COPY ${table} TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION ${compression})`);
      const bytes = new Uint8Array(await readFile(file));
      return layout.utcTimestamp ? markTimestampUtc(bytes) : bytes;
    } finally {
      await this.conn.run(`DROP TABLE IF EXISTS ${table}`);
      await rm(file, { force: true });
    }
  }

  async close(): Promise<void> {
    await this.queue;
    this.conn.closeSync();
    this.instance.closeSync();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The events archive: the LogEvent columns (LOG_EVENT_COLUMNS) plus `raw`. */
export const EVENT_LAYOUT: RowLayout<LogEvent> = {
  columns: EVENT_COLUMNS,
  utcTimestamp: true,
  fromJson: {
    keys: `{'ts': 'BIGINT', 'host': 'VARCHAR', 'ident': 'VARCHAR', 'user': 'VARCHAR', 'method': 'VARCHAR',
      'path': 'VARCHAR', 'query': 'VARCHAR', 'protocol': 'VARCHAR', 'status': 'INTEGER', 'bytes': 'BIGINT',
      'referrer': 'VARCHAR', 'agent': 'VARCHAR', 'source': 'VARCHAR', 'raw': 'VARCHAR'}`,
    select: `epoch_ms(ts)::TIMESTAMP_MS AS ts, host, ident, "user", method, path, query, protocol, status, bytes,
      referrer, agent, source, raw`,
  },
  append(appender, e) {
    appender.appendTimestampMilliseconds(new DuckDBTimestampMillisecondsValue(BigInt(e.ts)));
    str(appender, e.host);
    str(appender, e.ident);
    str(appender, e.user);
    str(appender, e.method);
    str(appender, e.path);
    str(appender, e.query);
    str(appender, e.protocol);
    if (e.status === null) appender.appendNull();
    else appender.appendInteger(e.status);
    if (e.bytes === null) appender.appendNull();
    else appender.appendBigInt(BigInt(e.bytes));
    str(appender, e.referrer);
    str(appender, e.agent);
    appender.appendVarchar(e.source);
    str(appender, e.raw ?? null);
  },
};

/** A records topic's archive (pipeline/model/record.ts): the record itself as JSON text. */
export const RECORD_LAYOUT: RowLayout<RecordMessage> = {
  columns: "source VARCHAR, key VARCHAR, ts BIGINT, record VARCHAR",
  append(appender, r) {
    appender.appendVarchar(r.source);
    appender.appendVarchar(r.key);
    appender.appendBigInt(BigInt(r.ts));
    appender.appendVarchar(JSON.stringify(r.record));
  },
};

function maxLength(values: Uint8Array[]): number {
  let max = 0;
  for (const v of values) if (v.length > max) max = v.length;
  return max;
}

function str(appender: { appendNull(): void; appendVarchar(v: string): void }, value: string | null): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(value);
}
