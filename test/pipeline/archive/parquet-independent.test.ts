/**
 * The archive's Parquet read by an independent reader (hyparquet, pure JS; not DuckDB, which wrote it).
 * Enabled once `hyparquet` is a devDependency: rename this file to parquet-independent.test.ts.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { ParquetEncoder } from "../../../pipeline/archive/parquet.ts";

describe("the archive's Parquet, read by hyparquet", () => {
  it("declares ts as TIMESTAMP(MILLIS, UTC), has no dt/hour columns, and holds the instants written", async () => {
    const encoder = await ParquetEncoder.create(mkdtempSync(join(tmpdir(), "logbench-hyparquet-")));
    const ts = [Date.UTC(1995, 6, 1, 0, 0, 1, 123), Date.UTC(1995, 7, 31, 23, 59, 59, 999)];
    const bytes = await encoder.encode(
      ts.map((t, i) => ({
        ts: t,
        host: `h${i}`,
        ident: null,
        user: null,
        method: "GET",
        path: "/",
        query: null,
        protocol: "HTTP/1.0",
        status: 200,
        bytes: 1,
        referrer: null,
        agent: null,
        source: "t",
      })),
      "snappy",
    );
    await encoder.close();
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    const metadata = parquetMetadata(file);
    const names = metadata.schema.map((s) => s.name);
    expect(names).not.toContain("dt");
    expect(names).not.toContain("hour");
    const column = metadata.schema.find((s) => s.name === "ts")!;
    expect(column.type).toBe("INT64");
    expect(column.logical_type).toEqual({ type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" });
    const rows = (await parquetReadObjects({ file, columns: ["ts", "host"] })) as Array<{ ts: unknown }>;
    const ms = rows.map((r) => (r.ts instanceof Date ? r.ts.getTime() : Number(r.ts)));
    expect(ms).toEqual(ts);
  });
});
