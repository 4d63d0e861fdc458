/**
 * Encodes LogEvents as one Parquet file with DuckDB (in memory; the file is staged in a local temp folder and
 * its bytes handed to the ArchiveStore, so HDFS and local archives share one path).
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DuckDBConnection, DuckDBInstance, DuckDBTimestampMillisecondsValue } from "@duckdb/node-api";
import { quoteLiteral } from "../../connectors/duckdb/connection.ts";
import type { LogEvent } from "../model/log-event.ts";
import { markTimestampUtc } from "./parquet-utc.ts";

/**
 * `ts` is a TIMESTAMP in milliseconds, marked as UTC (parquet-utc.ts), so Spark, Trino and Hive read a time, not a
 * number. The Hive partition columns dt and hour are in the path only, as those engines expect.
 */
const COLUMNS = `ts TIMESTAMP_MS, host VARCHAR, ident VARCHAR, "user" VARCHAR, method VARCHAR, path VARCHAR, query VARCHAR,
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
    const run = this.queue.then(() => this.encodeNow(events, compression));
    this.queue = run.catch(() => {});
    return run;
  }

  private async encodeNow(events: LogEvent[], compression: Compression): Promise<Uint8Array> {
    const table = `batch_${++this.seq}`;
    const file = join(this.dir, `${table}.parquet`);
    await this.conn.run(`CREATE TABLE ${table} (${COLUMNS})`);
    try {
      const appender = await this.conn.createAppender(table);
      for (const e of events) {
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
        appender.endRow();
      }
      appender.closeSync();
      await this.conn.run(`COPY ${table} TO ${quoteLiteral(file)} (FORMAT parquet, COMPRESSION ${compression})`);
      return markTimestampUtc(new Uint8Array(await readFile(file)));
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

function str(appender: { appendNull(): void; appendVarchar(v: string): void }, value: string | null): void {
  if (value === null) appender.appendNull();
  else appender.appendVarchar(value);
}
