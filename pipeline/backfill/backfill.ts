/**
 * `logbench backfill`: windows re-aggregated from the archive, or the archive's events published again.
 *
 * Into the series: the archived Parquet of the event-time range (hour buckets, mirrored to this machine when the
 * archive is on HDFS) is read per bus partition (the file names carry it), hour by hour, each hour's files in offset
 * order, through the aggregate stage's own window code (PartitionWindows, WindowColumns) with no watermark: every
 * event counts, however late it was. After each hour the windows that cannot receive more (end ≤ the next hour) are
 * written and forgotten, so memory holds about one hour. A window's points carry the same tags and time as the live
 * run's, so they overwrite them; written are the windows of each kind whose start lies in [from aligned down to the
 * kind's slide, to). A backfill into an empty store therefore writes what the live run wrote for events that were on
 * time — exactly, for windows within one hour bucket (the default 60 s); a hopping window that spans two hours
 * sees its events hour by hour rather than in offset order, which can change top-k counts only within their bound.
 *
 * Into the bus: the events of [from, to) are published to the topic again, keyed by host like any source.
 */
import type { Context } from "../../connectors/context.ts";
import { queryRows, withDuckDb } from "../../connectors/duckdb/connection.ts";
import { writeSeriesColumns } from "../../connectors/series-columns.ts";
import type { ArchiveStore, SeriesStore } from "../../connectors/types.ts";
import { WindowColumns } from "../aggregate/window-points.ts";
import { type WindowSpec, windowSpecs } from "../aggregate/window-spec.ts";
import { PartitionWindows, type WindowState } from "../aggregate/window-state.ts";
import type { Config } from "../config/schema.ts";
import type { LogEvent } from "../model/log-event.ts";
import { createEventsView } from "../query/catalog.ts";
import { type ArchiveFile, listArchive, localPaths, toLogEvents } from "../readers/archive.ts";

const HOUR = 3_600_000;

export interface BackfillProgress {
  files: number;
  filesTotal: number;
  events: number;
  windows: number;
}

export interface BackfillResult extends BackfillProgress {
  points: number;
}

/** Which windows to write: all in the range, or only these (label, source, partition, start) for `--late`. */
export type WindowFilter = (state: WindowState, partition: number) => boolean;

interface Plan {
  specs: WindowSpec[];
  /** Events read: [readFrom, readTo). */
  readFrom: number;
  readTo: number;
  /** Per kind, the first window start written. */
  firstStart: Map<string, number>;
  to: number;
}

function plan(config: Config, from: number, to: number): Plan {
  const specs = windowSpecs(config.aggregator);
  const firstStart = new Map<string, number>();
  let readFrom = Number.POSITIVE_INFINITY;
  let readTo = Number.NEGATIVE_INFINITY;
  for (const s of specs) {
    const first = Math.floor(from / s.slide) * s.slide;
    const last = Math.ceil(to / s.slide) * s.slide - s.slide;
    firstStart.set(s.label, first);
    readFrom = Math.min(readFrom, first);
    readTo = Math.max(readTo, last + s.size);
  }
  return { specs, readFrom, readTo, firstStart, to };
}

/** Archive files whose hour bucket overlaps [from, to), grouped by partition, each hour's files in offset order. */
function filesInRange(files: ArchiveFile[], from: number, to: number): Map<number, ArchiveFile[]> {
  const byPartition = new Map<number, ArchiveFile[]>();
  for (const f of files) {
    const hour = Date.parse(`${f.dt}T${f.hour}:00:00Z`);
    if (Number.isNaN(hour) || hour + HOUR <= from || hour >= to) continue;
    const list = byPartition.get(f.partition) ?? [];
    list.push(f);
    byPartition.set(f.partition, list);
  }
  for (const list of byPartition.values())
    list.sort((a, b) => (a.dt + a.hour).localeCompare(b.dt + b.hour) || a.firstOffset - b.firstOffset);
  return byPartition;
}

/** Calls `fn` with each file's events in [from, to), in the file's row order (the bus offsets' order). */
async function readEvents(
  paths: string[],
  from: number,
  to: number,
  fn: (index: number, events: LogEvent[]) => Promise<void>,
): Promise<void> {
  await withDuckDb(":memory:", {}, async (conn) => {
    for (const [i, path] of paths.entries()) {
      await conn.run("DROP VIEW IF EXISTS events");
      await createEventsView(conn, [path]);
      const rows = await queryRows(conn, `SELECT * EXCLUDE ("time") FROM events WHERE ts >= ${from} AND ts < ${to}`);
      const events = toLogEvents(rows).map((e, j): LogEvent => {
        const raw = rows[j]!.raw;
        return typeof raw === "string" ? { ...e, raw } : e;
      });
      await fn(i, events);
    }
  });
}

export interface BackfillOptions {
  from: number;
  to: number;
  /** Only windows this accepts are written (default all). */
  filter?: WindowFilter;
  onProgress?: (p: BackfillProgress) => void;
}

/** Re-aggregates [from, to) from the archive into the series store (see the file header). */
export async function backfillSeries(
  config: Config,
  ctx: Context,
  archive: ArchiveStore,
  series: SeriesStore,
  options: BackfillOptions,
): Promise<BackfillResult> {
  const p = plan(config, options.from, options.to);
  const byPartition = filesInRange(await listArchive(archive, config.topic), p.readFrom, p.readTo);
  const progress: BackfillResult = { files: 0, filesTotal: 0, events: 0, windows: 0, points: 0 };
  for (const list of byPartition.values()) progress.filesTotal += list.length;
  const { topK } = config.aggregator;
  for (const [partition, files] of [...byPartition].sort((a, b) => a[0] - b[0])) {
    ctx.signal.throwIfAborted();
    // No watermark: nothing is late for a backfill.
    const windows = new PartitionWindows({ windows: p.specs, latenessMs: Number.POSITIVE_INFINITY, topK });
    const paths = await localPaths(config, archive, files);
    let offset = 0;
    // Points are written in large batches: each write is one transaction (and, on DuckDB, one open of the file).
    let pending = new WindowColumns(topK);
    const flush = async () => {
      if (pending.rows) await writeSeriesColumns(series, pending.columns());
      pending = new WindowColumns(topK);
    };
    const write = async (states: WindowState[]) => {
      const keep = states.filter(
        (s) =>
          s.start >= p.firstStart.get(s.spec.label)! &&
          s.start < p.to &&
          (options.filter ? options.filter(s, partition) : true),
      );
      const before = pending.rows;
      for (const s of keep) pending.add(s, partition);
      progress.points += pending.rows - before;
      progress.windows += keep.length;
      if (pending.rows >= 20_000) await flush();
    };
    await readEvents(paths, p.readFrom, p.readTo, async (i, events) => {
      for (const e of events) windows.add(e, offset++);
      progress.events += events.length;
      progress.files++;
      const next = files[i + 1];
      const hourEnd = Date.parse(`${files[i]!.dt}T${files[i]!.hour}:00:00Z`) + HOUR;
      // The hour is complete: windows ending by its end get nothing from later hours.
      if (!next || next.dt !== files[i]!.dt || next.hour !== files[i]!.hour) {
        const done = [...windows.open].filter(([, s]) => s.end <= hourEnd);
        for (const [key] of done) windows.open.delete(key);
        await write(done.map(([, s]) => s));
      }
      options.onProgress?.({ ...progress });
    });
    await write([...windows.open.values()]);
    windows.open.clear();
    await flush();
  }
  return progress;
}

/** Publishes the archived events of [from, to) to the topic again, keyed by host. */
export async function backfillBus(
  config: Config,
  ctx: Context,
  archive: ArchiveStore,
  produce: (events: LogEvent[]) => Promise<void>,
  options: Pick<BackfillOptions, "from" | "to" | "onProgress">,
): Promise<BackfillResult> {
  const byPartition = filesInRange(await listArchive(archive, config.topic), options.from, options.to);
  const files = [...byPartition.values()].flat();
  const progress: BackfillResult = { files: 0, filesTotal: files.length, events: 0, windows: 0, points: 0 };
  const paths = await localPaths(config, archive, files);
  await readEvents(paths, options.from, options.to, async (_i, events) => {
    ctx.signal.throwIfAborted();
    for (let k = 0; k < events.length; k += 5000) await produce(events.slice(k, k + 5000));
    progress.events += events.length;
    progress.files++;
    options.onProgress?.({ ...progress });
  });
  return progress;
}
