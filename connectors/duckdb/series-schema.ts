/**
 * The columns of each measurement's table, as the DuckDB series store reads them once per open of the file (a
 * write's own rows are in series-rows.ts).
 */
import { type DuckDBConnection, queryRows } from "./connection.ts";

export type ColumnKind = "tag" | "BIGINT" | "DOUBLE" | "VARCHAR";
export const TAG_COMMENT = "logbench:tag";

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
