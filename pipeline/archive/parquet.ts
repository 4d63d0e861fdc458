/**
 * Encodes rows (LogEvents, or API records) as one Parquet file with DuckDB (in memory; the file is staged in a local temp folder and
 * its bytes handed to the ArchiveStore, so HDFS and local archives share one path).
 */
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
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

/** A spool file of JSON lines (one bus message each) written by the archive stage for one bucket. */
export interface Spool {
  path: string;
  /** Lines in the file: the rows its Parquet file must hold. */
  records: number;
  /** The longest line, in bytes. */
  longest: number;
  /** The file's size in bytes. */
  bytes: number;
}

/**
 * Spools smaller than this together are read by one read_json into one temporary table and written by one
 * partitioned COPY (encodeGroup): a roll of a backlog has one small spool per event-time hour, and a statement
 * per spool cost more than its Parquet writer. The table lives in DuckDB's memory (limit below), so a group's
 * JSON is kept well under it; a larger spool is streamed through read_json alone.
 */
const GROUP_BYTES = 4 * 1024 * 1024;
/**
 * And at most this many spools in one group: DuckDB's partitioned write buffers a block per partition it holds
 * (256 spools of 30 lines each ran out of the 64 MB limit; 64 stay far below it).
 */
const GROUP_FILES = 64;
/**
 * JSON bytes per Parquet row group. DuckDB's writer holds a whole row group in memory before it writes it, and its
 * default of 122,880 rows is 40 MB of combined-log events with their raw lines: at 50 k lines/s, a roll of one
 * spool ran the encoder out of its 64 MB limit and stopped the daemon. Rows per group are sized from the spool's
 * bytes per line instead (smaller groups were faster here too: less of the limit spilled).
 */
const ROW_GROUP_BYTES = 6 * 1024 * 1024;

/** Rows per row group for rows of about `bytesPerRow` bytes of JSON: DuckDB's default at most, its vector size at least. */
export function rowGroupRows(bytesPerRow: number): number {
  return Math.max(2_048, Math.min(122_880, Math.floor(ROW_GROUP_BYTES / Math.max(1, bytesPerRow))));
}

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
    // Partitioned writes (encodeSpools): rows come partition after partition, so few files need to be open, and
    // each is flushed long before the memory limit (DuckDB's default holds 512 k rows per partition first).
    await conn.run("SET partitioned_write_max_open_files = 2; SET partitioned_write_flush_threshold = 20000");
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
    return this.serial(() => this.encodeNow(rows, layout, compression));
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
    return this.encodeJsonNow(input, longest, layout, compression);
  }

  /**
   * Encode each spool (with a layout that has `fromJson`) as its own Parquet file, in order: the generator yields
   * spool i's file as the i-th value. Each statement takes its turn on the one connection, so other partitions'
   * rolls interleave with this one; the caller may store file i while file i + 1 is encoded. The spools are left
   * in place.
   */
  async *encodeSpools(
    spools: Spool[],
    layout: RowLayout<unknown>,
    compression: Compression,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    if (!layout.fromJson) throw new Error("encodeSpools: the layout has no fromJson");
    for (const group of groupSpools(spools)) {
      const [one] = group;
      if (group.length === 1)
        yield await this.copyOut(
          readJson(one!.path, one!.longest, layout.fromJson),
          one!.records,
          one!.path,
          layout,
          compression,
          rowGroupRows(one!.bytes / Math.max(1, one!.records)),
        );
      else yield* this.encodeGroup(group, layout, compression);
    }
  }

  /** One read_json of the group's spools into a temporary table, then one COPY per spool out of it. */
  /**
   * One read_json of the group's spools into a temporary table, then one COPY … PARTITION_BY of it: a file per
   * spool, in a folder each, from one statement (a Parquet writer per file still, but no statement, planning and
   * scan per file). The rows come spool after spool, so few files are open at once; straight from read_json the
   * partitioned write held far more memory. A spool that did not end up as exactly one file is encoded alone.
   */
  private async *encodeGroup(
    group: Spool[],
    layout: RowLayout<unknown>,
    compression: Compression,
  ): AsyncGenerator<Uint8Array, void, undefined> {
    const { keys, select } = layout.fromJson!;
    const table = `spools_${this.seq + 1}`;
    const out = join(this.dir, `group_${++this.seq}`);
    const longest = Math.max(...group.map((s) => s.longest));
    const files = group.map((s) => quoteLiteral(s.path)).join(", ");
    try {
      // Each row keeps the number in its spool's name (spoolPath): which file it came from, whatever the count.
      await this.serial(() =>
        this.conn.run(
          `CREATE TEMP TABLE ${table} AS SELECT CAST(regexp_extract(filename, '_(\\d+)\\.ndjson$', 1) AS UBIGINT) ` +
            `AS spool, ${select} FROM read_json([${files}], format = 'newline_delimited', columns = ${keys}, ` +
            `filename = true, maximum_object_size = ${Math.max(16 * 1024 * 1024, 2 * longest)})`,
        ),
      );
      // One thread: the rows keep the order they were read in, i.e. each spool's line order.
      const result = await this.serial(() =>
        this.conn.run(
          `COPY ${table} TO ${quoteLiteral(out)} (FORMAT parquet, COMPRESSION ${compression}, ` +
            "PARTITION_BY (spool), WRITE_PARTITION_COLUMNS false)",
        ),
      );
      await this.serial(() => this.conn.run(`DROP TABLE ${table}`));
      const lines = group.reduce((n, s) => n + s.records, 0);
      if (result.rowsChanged !== lines)
        throw new Error(
          `Encoding ${group.length} spools: ${result.rowsChanged} rows read, ${lines} lines were spooled`,
        );
      // One listing of the whole output ("spool=<n>/data_0.parquet"); the folder goes in the finally below.
      const written = new Map<string, string[]>();
      for (const name of await readdir(out, { recursive: true })) {
        const [folder, file] = name.split(/[\\/]/); // "\\" on Windows
        if (folder === undefined || file === undefined || !name.endsWith(".parquet")) continue;
        written.set(folder, [...(written.get(folder) ?? []), name]);
      }
      for (const s of group) {
        const files = written.get(`spool=${spoolNumber(s.path)}`) ?? [];
        if (files.length !== 1) {
          yield await this.copyOut(
            readJson(s.path, s.longest, layout.fromJson!),
            s.records,
            s.path,
            layout,
            compression,
            rowGroupRows(s.bytes / Math.max(1, s.records)),
          );
          continue;
        }
        const bytes = new Uint8Array(await readFile(join(out, files[0]!)));
        yield layout.utcTimestamp ? markTimestampUtc(bytes) : bytes;
      }
    } finally {
      await this.serial(() => this.conn.run(`DROP TABLE IF EXISTS ${table}`));
      await rm(out, { recursive: true, force: true });
    }
  }

  /**
   * COPY the query's rows to a scratch Parquet file and return its bytes; it must have written `rows` rows.
   * `groupRows`: rows per row group (rowGroupRows).
   */
  private async copyOut(
    query: string,
    rows: number | undefined,
    what: string,
    layout: RowLayout<unknown>,
    compression: Compression,
    groupRows: number,
  ): Promise<Uint8Array> {
    const file = join(this.dir, `out_${++this.seq}.parquet`);
    try {
      const result = await this.serial(() =>
        this.conn.run(
          // The scratch file is this encoder's own: no temporary name and rename inside DuckDB.
          `COPY (${query}) TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION ${compression}, USE_TMP_FILE false, ` +
            `ROW_GROUP_SIZE ${groupRows})`,
        ),
      );
      if (rows !== undefined && result.rowsChanged !== rows)
        throw new Error(`Encoding ${what}: ${result.rowsChanged} rows read, ${rows} lines were spooled`);
      const bytes = new Uint8Array(await readFile(file));
      return layout.utcTimestamp ? markTimestampUtc(bytes) : bytes;
    } finally {
      await removeFile(file);
    }
  }

  /** Run `fn` when the statements queued before it are done (one statement at a time on the connection). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
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
      await removeFile(input);
    }
  }

  private encodeJsonNow(
    input: string,
    longest: number,
    layout: RowLayout<unknown>,
    compression: Compression,
  ): Promise<Uint8Array> {
    if (!layout.fromJson) throw new Error("encodeJsonLines: the layout has no fromJson");
    // Only the longest line is known here: groups sized by it are smaller, never larger, than needed.
    return this.copyOut(
      readJson(input, longest, layout.fromJson),
      undefined,
      input,
      layout,
      compression,
      rowGroupRows(longest),
    );
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
      await removeFile(file);
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

/** The layout's columns from a file of JSON lines; one thread, so the rows keep the order of the lines (offsets). */
function readJson(input: string, longest: number, fromJson: { keys: string; select: string }): string {
  return (
    `SELECT ${fromJson.select} FROM read_json(${quoteLiteral(input)}, format = 'newline_delimited', ` +
    `columns = ${fromJson.keys}, maximum_object_size = ${Math.max(16 * 1024 * 1024, 2 * longest)})`
  );
}

/** Consecutive runs of spools small enough to be read together (GROUP_BYTES, GROUP_FILES); a large one alone. */
export function groupSpools(spools: Spool[]): Spool[][] {
  const groups: Spool[][] = [];
  let current: Spool[] = [];
  let bytes = 0;
  for (const s of spools) {
    if (current.length > 0 && (bytes + s.bytes > GROUP_BYTES || current.length >= GROUP_FILES)) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(s);
    bytes += s.bytes;
  }
  if (current.length > 0) groups.push(current);
  return groups;
}

function spoolNumber(path: string): number {
  const m = /_(\d+)\.ndjson$/.exec(path);
  if (!m) throw new Error(`Not a spool file of this encoder: ${path}`);
  return Number(m[1]);
}

/** unlink, where a file already gone is fine (fs.rm costs several times more per file: it walks and retries). */
export async function removeFile(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
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
