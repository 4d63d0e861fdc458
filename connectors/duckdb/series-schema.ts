/**
 * What the DuckDB series store keeps between the statements of its writes: the grouped points of a write and how
 * several are merged into one transaction (series-store.ts group commit), and the columns of each measurement's
 * table, read once per open of the file.
 */
import { type DuckDBConnection, queryRows } from "./connection.ts";

export type ColumnKind = "tag" | "BIGINT" | "DOUBLE" | "VARCHAR";
export type FieldValue = number | string;
export const TAG_COMMENT = "logbench:tag";

export interface MergedPoint {
  time: number;
  tags: Record<string, string>;
  fields: Record<string, FieldValue>;
}

/** Points of one write by measurement, then by time and tag set. */
export type GroupedPoints = Map<string, Map<string, MergedPoint>>;

export /** Merge the grouped points of several writes in their order (a later write's fields win, as if run after). */
function mergeGroups(groups: GroupedPoints[]): GroupedPoints {
  if (groups.length === 1) return groups[0]!;
  const out = new Map<string, Map<string, MergedPoint>>();
  for (const g of groups) {
    for (const [measurement, points] of g) {
      let into = out.get(measurement);
      if (!into) {
        into = new Map();
        out.set(measurement, into);
      }
      for (const [key, p] of points) {
        const existing = into.get(key);
        if (existing) into.set(key, { ...existing, fields: { ...existing.fields, ...p.fields } });
        else into.set(key, p);
      }
    }
  }
  return out;
}

export /** Table columns per measurement, trusted only under the open of the file they were read in. */
class SchemaCache {
  private generation = -1;
  private readonly tables = new Map<string, Map<string, ColumnKind> | null>();

  validFor(generation: number): void {
    if (generation !== this.generation) this.clear();
    this.generation = generation;
  }

  clear(): void {
    this.tables.clear();
  }

  async columns(conn: DuckDBConnection, table: string): Promise<Map<string, ColumnKind> | null> {
    const key = table.toLowerCase();
    if (this.tables.has(key)) return this.tables.get(key)!;
    const cols = await tableColumns(conn, table);
    this.tables.set(key, cols);
    return cols;
  }

  forget(table: string): void {
    this.tables.delete(table.toLowerCase());
  }
}

export /** Tag and field columns of a measurement's table, or null when there is no such table. */
async function tableColumns(conn: DuckDBConnection, table: string): Promise<Map<string, ColumnKind> | null> {
  const rows = await queryRows(
    conn,
    `SELECT column_name, data_type, comment FROM duckdb_columns()
     WHERE database_name = current_database() AND schema_name = 'main' AND lower(table_name) = lower($1)
     ORDER BY column_index`,
    [table],
  );
  if (rows.length === 0) return null;
  const cols = new Map<string, ColumnKind>();
  for (const r of rows) {
    const name = String(r.column_name);
    if (name === "time") continue;
    const type = String(r.data_type);
    cols.set(
      name,
      r.comment === TAG_COMMENT ? "tag" : type === "VARCHAR" ? "VARCHAR" : type === "BIGINT" ? "BIGINT" : "DOUBLE",
    );
  }
  return cols;
}
