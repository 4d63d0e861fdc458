/** The Parquet encoder: every partition's roll may call it at once, and each file must hold its own events. */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { queryRows, quoteLiteral, withDuckDb } from "../../../connectors/duckdb/connection.ts";
import { ParquetEncoder } from "../../../pipeline/archive/parquet.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";

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
