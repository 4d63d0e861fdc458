/**
 * Reading the archive (DESIGN §5: `<topic>/dt=YYYY-MM-DD/hour=HH/part-<partition>-<first>-<last>.parquet`)
 * for the notebooks and users' own loaders: list it through the ArchiveStore, make the chosen files readable by
 * DuckDB on this machine, and query them with DuckDB (`@duckdb/node-api` reads Parquet; the browser's DuckDB-wasm cannot
 * load its Parquet extension offline, so the loaders hand it Arrow).
 */
import { join, resolve } from "node:path";
import { localRootOf, syncArchive } from "../../connectors/archive-sync.ts";
import { queryRows, withDuckDb } from "../../connectors/duckdb/connection.ts";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore } from "../../connectors/types.ts";
import { dayDirName, parseDayDir, parseFinalName, parseHourDir } from "../archive/layout.ts";
import type { Config } from "../config/schema.ts";
import type { LogEvent } from "../model/log-event.ts";
import { createEventsView } from "../query/catalog.ts";

export interface ArchiveFile {
  /** Relative to the archive root. */
  path: string;
  dt: string;
  hour: string;
  partition: number;
  firstOffset: number;
  lastOffset: number;
  bytes: number;
  modified: number;
}

/** Every published Parquet file of the topic, oldest hour first. Temporary files are never listed. */
export async function listArchive(store: ArchiveStore, topic: string): Promise<ArchiveFile[]> {
  const files: ArchiveFile[] = [];
  const days = await listOrEmpty(store, topic);
  for (const day of days.filter((d) => d.type === "DIRECTORY" && parseDayDir(d.name) !== null).sort(byName)) {
    const hours = (await listOrEmpty(store, day.path)).filter((h) => parseHourDir(h.name) !== null);
    for (const hour of hours.sort(byName)) {
      for (const file of await listOrEmpty(store, hour.path)) {
        const part = parseFinalName(file.name);
        if (file.type !== "FILE" || !part) continue;
        files.push({
          path: file.path,
          dt: parseDayDir(day.name)!,
          hour: parseHourDir(hour.name)!,
          partition: part.partition,
          firstOffset: part.first,
          lastOffset: part.last,
          bytes: file.length,
          modified: file.modificationTime,
        });
      }
    }
  }
  return files;
}

/** A folder's entries, or none when it does not exist (yet). */
export async function listOrEmpty(store: ArchiveStore, path: string) {
  try {
    return await store.list(path);
  } catch (err) {
    if (isLogbenchError(err, "NOT_FOUND")) return [];
    throw err;
  }
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * Local paths DuckDB can read. A local archive is read in place (connectors/archive-sync's `localRootOf`). A
 * remote one (WebHDFS) is mirrored day by day into `<stateDir>/notebooks-archive/` by `syncArchive`, which
 * copies only new or changed files, so the next build reuses what it fetched.
 */
export async function localPaths(config: Config, store: ArchiveStore, files: ArchiveFile[]): Promise<string[]> {
  const root = localRootOf(store);
  if (root) return files.map((f) => join(root, ...f.path.split("/")));
  const cache = resolve(config.stateDir, "notebooks-archive");
  for (const dt of new Set(files.map((f) => f.dt))) {
    const prefix = `${config.topic}/${dayDirName(dt)}`;
    await syncArchive(store, prefix, join(cache, ...prefix.split("/")), { suffix: ".parquet" });
  }
  return files.map((f) => join(cache, ...f.path.split("/")));
}

/**
 * Run `fn` with an in-memory DuckDB in which the view `events` holds the given Parquet files: the same view
 * `logbench query` offers (pipeline/query/catalog.ts).
 */
export async function withEvents<T>(
  paths: string[],
  fn: (query: (sql: string) => Promise<Record<string, unknown>[]>) => Promise<T>,
): Promise<T> {
  return withDuckDb(":memory:", {}, async (conn) => {
    await createEventsView(conn, paths);
    return fn((sql) => queryRows(conn, sql));
  });
}

/** Rows of the `events` view as LogEvents (for eventsToArrow). */
export function toLogEvents(rows: Record<string, unknown>[]): LogEvent[] {
  const text = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return rows.map((r) => ({
    ts: Number(r.ts),
    host: text(r.host),
    ident: text(r.ident),
    user: text(r.user),
    method: text(r.method),
    path: text(r.path),
    query: text(r.query),
    protocol: text(r.protocol),
    status: num(r.status),
    bytes: num(r.bytes),
    referrer: text(r.referrer),
    agent: text(r.agent),
    source: String(r.source ?? ""),
  }));
}

/** YYYY-MM-DD of an epoch-ms instant, in UTC (the archive's buckets are UTC). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Epoch ms of 00:00 UTC on a YYYY-MM-DD day. */
export function dayStart(day: string): number {
  const ms = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new Error(`expected a day like 1995-07-01, got "${day}"`);
  return ms;
}
