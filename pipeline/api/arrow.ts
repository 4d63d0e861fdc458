/** LogEvents as an Arrow IPC stream (the notebooks load it into DuckDB-wasm, which cannot read Parquet offline). */
import { Int32, Int64, Table, tableToIPC, Utf8, type Vector, vectorFromArray } from "apache-arrow";
import { LOG_EVENT_COLUMNS, type LogEvent } from "../model/log-event.ts";

const TEXT = ["host", "ident", "user", "method", "path", "query", "protocol", "referrer", "agent", "source"] as const;

export function eventsToArrow(events: LogEvent[]): Uint8Array {
  const columns: Record<string, Vector> = {
    ts: vectorFromArray(
      events.map((e) => BigInt(e.ts)),
      new Int64(),
    ),
  };
  for (const name of TEXT)
    columns[name] = vectorFromArray(
      events.map((e) => e[name] ?? null),
      new Utf8(),
    );
  columns.status = vectorFromArray(
    events.map((e) => e.status),
    new Int32(),
  );
  columns.bytes = vectorFromArray(
    events.map((e) => (e.bytes === null ? null : BigInt(e.bytes))),
    new Int64(),
  );
  const table = new Table(Object.fromEntries(LOG_EVENT_COLUMNS.map((k) => [k, columns[k]!])));
  return tableToIPC(table, "stream");
}
