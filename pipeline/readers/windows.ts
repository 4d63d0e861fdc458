/**
 * Rebuilds the live API's WindowSummary objects from the series store's points (DESIGN §5), so a page built
 * without a running daemon shows the same panels from the same numbers. Points are written per bus partition
 * (tag `partition`) and source; a window's summary adds them up. A host always lands on one partition (the bus
 * key is the host), so unique hosts add up exactly within one source. Top paths and hosts are merged from each
 * partition's top-k, which is exact unless a value sits just below the cut in several partitions.
 */
import type { SeriesPoint } from "../../connectors/types.ts";
import { MergedSketches } from "../aggregate/window-points.ts";
import { windowLabel } from "../aggregate/window-state.ts";
import { emptyWindowSummary, type RankedValue, type WindowSummary } from "../model/window.ts";

export interface WindowPoints {
  requests: SeriesPoint[];
  byMethod: SeriesPoint[];
  byStatus: SeriesPoint[];
  topPaths: SeriesPoint[];
  topHosts: SeriesPoint[];
  /** The windows' stored summaries (measurement `sketches`); optional. */
  sketches?: SeriesPoint[];
}

/** Summaries newest first, one per window start present in `points.requests`. */
export function windowsFromPoints(
  points: WindowPoints,
  options: { windowMs: number; latenessMs: number; topK: number },
): WindowSummary[] {
  const label = windowLabel(options.windowMs);
  const byStart = new Map<number, WindowSummary>();
  const get = (time: number) => byStart.get(time);
  for (const p of points.requests) {
    let w = byStart.get(p.time);
    if (!w) {
      w = emptyWindowSummary(p.time, options.windowMs, label, false);
      byStart.set(p.time, w);
    }
    w.count += num(p.fields.count);
    w.bytes += num(p.fields.bytes);
    w.status4xx += num(p.fields.status_4xx);
    w.status5xx += num(p.fields.status_5xx);
    w.uniqueHosts += num(p.fields.unique_hosts);
  }
  for (const p of points.byMethod) {
    const w = get(p.time);
    const method = p.tags.method ?? "-";
    if (w) w.byMethod[method] = (w.byMethod[method] ?? 0) + num(p.fields.count);
  }
  for (const p of points.byStatus) {
    const w = get(p.time);
    const status = p.tags.status ?? "-";
    if (w) w.byStatus[status] = (w.byStatus[status] ?? 0) + num(p.fields.count);
  }
  const ranked = (list: SeriesPoint[], set: (w: WindowSummary, top: RankedValue[]) => void) => {
    const merged = new Map<number, Map<string, number>>();
    for (const p of list) {
      const value = p.fields.value;
      if (typeof value !== "string" || !byStart.has(p.time)) continue;
      const counts = merged.get(p.time) ?? new Map<string, number>();
      merged.set(p.time, counts);
      counts.set(value, (counts.get(value) ?? 0) + num(p.fields.count));
    }
    for (const [time, counts] of merged) {
      const top = [...counts]
        .map(([value, count]) => ({ value, count }))
        .sort((a, b) => b.count - a.count || (a.value < b.value ? -1 : 1))
        .slice(0, options.topK);
      set(byStart.get(time)!, top);
    }
  };
  ranked(points.topPaths, (w, top) => {
    w.topPaths = top;
  });
  ranked(points.topHosts, (w, top) => {
    w.topHosts = top;
  });
  if (points.sketches) {
    const merged = new Map<number, MergedSketches>();
    for (const p of points.sketches) {
      if (!byStart.has(p.time)) continue;
      let m = merged.get(p.time);
      if (!m) {
        m = new MergedSketches(options.topK);
        merged.set(p.time, m);
      }
      m.addPoint(p);
    }
    for (const [time, m] of merged) Object.assign(byStart.get(time)!, m.result());
  }
  const windows = [...byStart.values()].sort((a, b) => b.start - a.start);
  const newestEnd = windows[0]?.end ?? 0;
  for (const w of windows) w.closed = w.end + options.latenessMs <= newestEnd;
  return windows;
}

function num(v: number | string | undefined): number {
  return typeof v === "number" ? v : v === undefined ? 0 : Number(v) || 0;
}
