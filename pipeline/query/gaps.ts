/**
 * The `gaps` table of the query catalog: offset ranges the bus deleted (retention) before the archive read them,
 * from the archive's own records (`_logbench/gaps/<topic>/<partition>/<from>-<to>.json`, named in layout.ts). An
 * empty table means the archive is missing nothing the bus once held.
 */

import type { DuckDBConnection } from "../../connectors/duckdb/connection.ts";
import { quoteLiteral } from "../../connectors/duckdb/connection.ts";
import type { ArchiveStore } from "../../connectors/types.ts";
import { gapDir, parseGapName } from "../archive/layout.ts";
import { listOrEmpty } from "../readers/archive.ts";

interface GapRow {
  topic: string;
  partition: number;
  first: number;
  last: number;
  detectedAt: number | null;
}

/** Every gap record of these archive topics. */
export async function readGaps(store: ArchiveStore, topics: string[]): Promise<GapRow[]> {
  const rows: GapRow[] = [];
  for (const topic of topics) {
    for (const dir of await listOrEmpty(store, gapDir(topic))) {
      const partition = Number(dir.name);
      if (dir.type !== "DIRECTORY" || !Number.isInteger(partition)) continue;
      for (const file of await listOrEmpty(store, gapDir(topic, partition))) {
        const range = parseGapName(file.name);
        if (!range) continue;
        let detectedAt: number | null = null;
        try {
          const body = JSON.parse(new TextDecoder().decode(await store.open(file.path))) as { detectedAt?: number };
          detectedAt = typeof body.detectedAt === "number" ? body.detectedAt : null;
        } catch {
          // The name alone carries the range; a damaged body only loses the detection time.
        }
        rows.push({ topic, partition, first: range.from, last: range.to - 1, detectedAt });
      }
    }
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition || a.first - b.first);
}

/** `gaps`: topic, partition, first_offset, last_offset (inclusive), lost, detected_at (epoch ms). */
export async function createGapsTable(conn: DuckDBConnection, rows: GapRow[]): Promise<void> {
  await conn.run(
    "CREATE TABLE gaps (topic VARCHAR, partition INTEGER, first_offset BIGINT, last_offset BIGINT, lost BIGINT, detected_at BIGINT)",
  );
  if (rows.length === 0) return;
  const values = rows
    .map(
      (r) =>
        `(${quoteLiteral(r.topic)}, ${r.partition}, ${r.first}, ${r.last}, ${r.last - r.first + 1}, ${r.detectedAt ?? "NULL"})`,
    )
    .join(", ");
  await conn.run(`INSERT INTO gaps VALUES ${values}`);
}
