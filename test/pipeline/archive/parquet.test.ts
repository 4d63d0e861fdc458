/** The Parquet encoder: every partition's roll may call it at once, and each file must hold its own events. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queryRows, quoteLiteral, withDuckDb } from "../../../connectors/duckdb/connection.ts";
import { ParquetEncoder } from "../../../pipeline/archive/parquet.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";
import { createEventsView } from "../../../pipeline/query/catalog.ts";

function events(batch: number, n: number): LogEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    ts: Date.UTC(1995, 6, 1) + i,
    host: `h${batch}`,
    ident: null,
    user: null,
    method: "GET",
    path: `/batch${batch}/${i}`,
    query: null,
    protocol: "HTTP/1.0",
    status: 200,
    bytes: i,
    referrer: null,
    agent: null,
    source: "t",
  }));
}

describe("ParquetEncoder", () => {
  it("encodes concurrent batches into separate, complete files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-parquet-test-"));
    const encoder = await ParquetEncoder.create(dir);
    const sizes = [500, 1, 2000, 37, 800, 5];
    const files = await Promise.all(sizes.map((n, b) => encoder.encode(events(b, n), "zstd")));
    await encoder.close();
    await withDuckDb(":memory:", {}, async (conn) => {
      for (const [b, bytes] of files.entries()) {
        const file = join(dir, `out-${b}.parquet`);
        writeFileSync(file, bytes);
        const [row] = await queryRows(
          conn,
          `SELECT count(*) AS n, count(DISTINCT host) AS hosts, min(host) AS host FROM read_parquet(${quoteLiteral(file)})`,
        );
        expect(row).toEqual({ n: sizes[b], hosts: 1, host: `h${b}` });
      }
    });
  });
});

describe("the archive's Parquet schema", () => {
  it("has ts as TIMESTAMP(MILLIS) adjusted to UTC, and no dt/hour columns", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-parquet-schema-"));
    const encoder = await ParquetEncoder.create(dir);
    const bytes = await encoder.encode(events(0, 3), "zstd");
    await encoder.close();
    const file = join(dir, "a.parquet");
    writeFileSync(file, bytes);
    await withDuckDb(":memory:", {}, async (conn) => {
      const schema = await queryRows(
        conn,
        `SELECT name, type, logical_type FROM parquet_schema(${quoteLiteral(file)}) WHERE name <> 'duckdb_schema'`,
      );
      const names = schema.map((r) => r.name);
      expect(names).not.toContain("dt");
      expect(names).not.toContain("hour");
      const ts = schema.find((r) => r.name === "ts")!;
      expect(ts.type).toBe("INT64");
      expect(String(ts.logical_type)).toMatch(/^TimestampType\(isAdjustedToUTC=1, unit=TimeUnit\(MILLIS=/);
      // DuckDB reads it back as an instant, to the millisecond.
      const rows = await queryRows(
        conn,
        `SELECT typeof(ts) AS t, epoch_ms(ts) AS ms FROM read_parquet(${quoteLiteral(file)})`,
      );
      expect(rows.map((r) => [r.t, Number(r.ms)])).toEqual(
        [0, 1, 2].map((i) => ["TIMESTAMP WITH TIME ZONE", Date.UTC(1995, 6, 1) + i]),
      );
    });
  });

  it("the events view gives ts in epoch ms and time as a timestamp, over new files and old BIGINT ones alike", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-parquet-old-"));
    const encoder = await ParquetEncoder.create(dir);
    writeFileSync(join(dir, "new.parquet"), await encoder.encode(events(1, 2), "zstd"));
    await encoder.close();
    await withDuckDb(":memory:", {}, async (conn) => {
      // An archive file as written before: ts BIGINT, no TIMESTAMP type.
      await conn.run(
        `COPY (SELECT CAST(${Date.UTC(1995, 6, 2)} AS BIGINT) AS ts, 'old' AS host, NULL::VARCHAR AS ident, NULL::VARCHAR AS "user",
          'GET' AS method, '/' AS path, NULL::VARCHAR AS query, NULL::VARCHAR AS protocol, 200 AS status, CAST(5 AS BIGINT) AS bytes,
          NULL::VARCHAR AS referrer, NULL::VARCHAR AS agent, 't' AS source, NULL::VARCHAR AS raw)
         TO ${quoteLiteral(join(dir, "old.parquet"))} (FORMAT parquet)`,
      );
      await createEventsView(conn, [join(dir, "*.parquet")]);
      const rows = await queryRows(
        conn,
        `SELECT host, ts, typeof(ts) AS ts_type, typeof("time") AS time_type, strftime("time", '%Y-%m-%dT%H:%M:%S.%g') AS iso
         FROM events ORDER BY ts`,
      );
      expect(rows).toEqual([
        {
          host: "h1",
          ts: Date.UTC(1995, 6, 1),
          ts_type: "BIGINT",
          time_type: "TIMESTAMP",
          iso: "1995-07-01T00:00:00.000",
        },
        {
          host: "h1",
          ts: Date.UTC(1995, 6, 1) + 1,
          ts_type: "BIGINT",
          time_type: "TIMESTAMP",
          iso: "1995-07-01T00:00:00.001",
        },
        {
          host: "old",
          ts: Date.UTC(1995, 6, 2),
          ts_type: "BIGINT",
          time_type: "TIMESTAMP",
          iso: "1995-07-02T00:00:00.000",
        },
      ]);
    });
  });
});
