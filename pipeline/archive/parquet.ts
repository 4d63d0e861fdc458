/**
 * Encodes rows (LogEvents, or API records) as one Parquet file with DuckDB (in memory; the file is staged in a local temp folder and
 * its bytes handed to the ArchiveStore, so HDFS and local archives share one path).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBAppender, DuckDBConnection } from "@duckdb/node-api";
import { quoteLiteral } from "../../connectors/duckdb/connection.ts";
import { DuckDBInstance, DuckDBTimestampMillisecondsValue } from "../../connectors/duckdb/node-api.ts";
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
   * keys (keys a message lacks are NULL, others are ignored). When set, the archive appends each message's
   * bytes to a spool file in the scratch folder instead of keeping a decoded row, and DuckDB parses them on its
   * own thread: no per-value appends from JavaScript, and no buffered records in memory whatever the roll size.
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
    const instance = await DuckDBInstance.create(":memory:", {
      threads: "1",
      // Bounded: the daemon's memory target is for the whole process; larger rolls spill to DuckDB's temp files.
      memory_limit: "64MB",
    });
    const conn = await instance.connect();
    await mkdir(scratchDir, { recursive: true });
    await removeAbandoned(scratchDir);
    const dir = await mkdtemp(join(scratchDir, `parquet-${process.pid}-`));
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

  /** A new file name in the encoder's scratch folder, for a spool of JSON lines (see `encodeJsonLines`). */
  spoolPath(): string {
    return join(this.dir, `spool_${++this.seq}.ndjson`);
  }

  /**
   * Encode a file of JSON lines (bus messages, one JSON object each) with a layout that has `fromJson`.
   * `longest`: the longest line in bytes. The file is left in place.
   */
  encodeJsonLines(
    input: string,
    longest: number,
    layout: RowLayout<unknown>,
    compression: Compression,
  ): Promise<Uint8Array> {
    const run = this.queue.then(() => this.encodeJsonNow(input, longest, layout, compression));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Encode bus messages held in memory (tests, small batches): the same path through a spool file. */
  async encodeJson(values: Uint8Array[], layout: RowLayout<unknown>, compression: Compression): Promise<Uint8Array> {
    const input = this.spoolPath();
    try {
      await writeFile(input, joinLines(values));
      return await this.encodeJsonLines(input, maxLength(values), layout, compression);
    } finally {
      await rm(input, { force: true });
    }
  }

  private async encodeJsonNow(
    input: string,
    longest: number,
    layout: RowLayout<unknown>,
    compression: Compression,
  ): Promise<Uint8Array> {
    const { fromJson } = layout;
    if (!fromJson) throw new Error("encodeJsonLines: the layout has no fromJson");
    const file = join(this.dir, `json_${++this.seq}.parquet`);
    try {
      // One thread: rows keep the order of the lines (their offsets).
      await this.conn.run(
        `COPY (SELECT ${fromJson.select} FROM read_json(${quoteLiteral(input)}, format = 'newline_delimited', ` +
          `columns = ${fromJson.keys}, maximum_object_size = ${Math.max(16 * 1024 * 1024, 2 * longest)})) ` +
          `TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION ${compression})`,
      );
      const bytes = new Uint8Array(await readFile(file));
      return layout.utcTimestamp ? markTimestampUtc(bytes) : bytes;
    } finally {
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

/**
 * Scratch folders of encoders whose process is gone (killed before close): their spools can be as large as a
 * roll, and nothing else would remove them. Folders of live processes, and of other hosts' pids, are kept.
 */
async function removeAbandoned(scratchDir: string): Promise<void> {
  for (const name of await readdir(scratchDir).catch(() => [] as string[])) {
    const m = /^parquet-(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    await rm(join(scratchDir, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // Only "no such process" says it is gone (under Deno without --allow-run the check itself is refused).
    return (err as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

/** The values, each followed by a newline, in one buffer. */
export function joinLines(values: Uint8Array[]): Buffer {
  let size = 0;
  for (const v of values) size += v.length + 1;
  const lines = Buffer.allocUnsafe(size);
  let at = 0;
  for (const v of values) {
    lines.set(v, at);
    at += v.length;
    lines[at++] = 10;
  }
  return lines;
}

function maxLength(values: Uint8Array[]): number {
  let max = 0;
  for (const v of values) if (v.length > max) max = v.length;
  return max;
}

function str(appender: { appendNull(): void; appendVarchar(v: string): void }, value: string | null): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(value);
}
