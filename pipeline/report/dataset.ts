/**
 * The report's enriched events as Arrow IPC, for the notebooks' daily report: each event with the columns the
 * panels group by (pipeline/report/compute.ts `enrichEvents`), so DuckDB-wasm in the page computes every panel
 * with GoAccess's definitions and any filter a reader sets, without ua-parser-js in the browser.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Bool, Float64, Int32, Table, tableToIPC, Utf8, type Vector, vectorFromArray } from "apache-arrow";
import type { DuckDBConnection } from "../../connectors/duckdb/connection.ts";
import { queryRows } from "../../connectors/duckdb/connection.ts";
import type { AgentClass } from "./agents.ts";
import { ENRICHED_COLUMNS, enrichEvents, failedRequests, type ReportRange } from "./compute.ts";

export interface ReportDataset {
  /** Arrow IPC stream with ENRICHED_COLUMNS (ts and bytes as float64: exact below 2^53, no BigInt in the page). */
  arrow: Uint8Array;
  rows: number;
  /** Epoch ms of the first and last event, null when there is none. */
  firstTs: number | null;
  lastTs: number | null;
}

const NUMBERS = new Set(["ts", "bytes"]);

/**
 * The events with ts in [from, to) of a catalog connection (`events` loaded), enriched, as Arrow; only those of
 * `days` (YYYYMMDD, UTC) when given.
 */
export async function reportDataset(
  conn: DuckDBConnection,
  range: ReportRange & { days?: string[] },
): Promise<ReportDataset> {
  const scratch = await mkdtemp(join(tmpdir(), "logbench-report-data-"));
  try {
    await enrichEvents(conn, range, scratch);
    const only = range.days ? `WHERE day IN (${range.days.map((d) => `'${d.replace(/\D/g, "")}'`).join(", ")})` : "";
    const rows = await queryRows(conn, `SELECT ${ENRICHED_COLUMNS.join(", ")} FROM r ${only} ORDER BY ts`);
    const columns: Record<string, Vector> = {};
    for (const c of ENRICHED_COLUMNS) {
      const values = rows.map((r) => r[c] ?? null);
      columns[c] =
        c === "static"
          ? vectorFromArray(
              values.map((v) => (v === null ? null : Boolean(v))),
              new Bool(),
            )
          : c === "status"
            ? vectorFromArray(
                values.map((v) => (v === null ? null : Number(v))),
                new Int32(),
              )
            : NUMBERS.has(c)
              ? vectorFromArray(
                  values.map((v) => (v === null ? null : Number(v))),
                  new Float64(),
                )
              : vectorFromArray(
                  values.map((v) => (v === null ? null : String(v))),
                  new Utf8(),
                );
    }
    const ts = rows.map((r) => Number(r.ts));
    return {
      arrow: tableToIPC(new Table(columns), "stream"),
      rows: rows.length,
      firstTs: ts.length ? ts[0]! : null,
      lastTs: ts.length ? ts.at(-1)! : null,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

const DAY = 86_400_000;
const compact = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "");

/** One day's report with what it is compared with: the day before and the same weekday a week before. */
export interface DailyReportData {
  /** YYYYMMDD (UTC), as the dataset's `day` column. */
  day: string;
  prevDay: string;
  weekAgo: string;
  /** Dead letters whose raw line holds a time in each of the three days (`failed_requests`). */
  failed: Record<string, number>;
  dataset: ReportDataset;
}

/** The daily report's data for the UTC day starting at `dayStartMs`, from a catalog with events and dead_letters. */
export async function dailyReportData(
  conn: DuckDBConnection,
  dayStartMs: number,
  classify: (agent: string) => AgentClass,
): Promise<DailyReportData> {
  const [day, prevDay, weekAgo] = [dayStartMs, dayStartMs - DAY, dayStartMs - 7 * DAY].map(compact) as [
    string,
    string,
    string,
  ];
  const dataset = await reportDataset(conn, {
    from: dayStartMs - 7 * DAY,
    to: dayStartMs + DAY,
    classify,
    days: [day, prevDay, weekAgo],
  });
  const failed: Record<string, number> = {};
  for (const [d, start] of [
    [day, dayStartMs],
    [prevDay, dayStartMs - DAY],
    [weekAgo, dayStartMs - 7 * DAY],
  ] as const)
    failed[d] = (await failedRequests(conn, { from: start, to: start + DAY })).inRange;
  return { day, prevDay, weekAgo, failed, dataset };
}
