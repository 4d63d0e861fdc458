/**
 * SeriesColumns ↔ SeriesPoint, and the write that uses a store's `writeColumns` when it has one.
 */
import type { SeriesColumns, SeriesPoint, SeriesStore } from "./types.ts";

/** Rows held by the columns. */
export function rowsIn(columns: readonly SeriesColumns[]): number {
  let n = 0;
  for (const c of columns) n += c.time.length;
  return n;
}

/** The points the columns hold, in their order (what a store without `writeColumns` is given). */
export function pointsOfColumns(columns: readonly SeriesColumns[]): SeriesPoint[] {
  const points: SeriesPoint[] = [];
  for (const c of columns) {
    const tagNames = Object.keys(c.tags);
    const fieldNames = Object.keys(c.fields);
    for (let i = 0; i < c.time.length; i++) {
      const tags: Record<string, string> = {};
      for (const k of tagNames) {
        const v = c.tags[k]![i];
        if (v !== undefined && v !== "") tags[k] = v;
      }
      const fields: Record<string, number | string> = {};
      for (const k of fieldNames) {
        const v = c.fields[k]![i];
        if (v !== undefined) fields[k] = v;
      }
      points.push({ measurement: c.measurement, tags, fields, time: c.time[i]! });
    }
  }
  return points;
}

/** The points in columns, one SeriesColumns per measurement in the order first seen. */
export function columnsOfPoints(points: readonly SeriesPoint[]): SeriesColumns[] {
  const out = new Map<string, SeriesColumns>();
  for (const p of points) {
    let c = out.get(p.measurement);
    if (!c) {
      // No prototype: a tag or field named "constructor" is a name like any other.
      c = { measurement: p.measurement, time: [], tags: Object.create(null), fields: Object.create(null) };
      out.set(p.measurement, c);
    }
    const row = c.time.length;
    c.time.push(p.time);
    for (const k in p.tags) {
      c.tags[k] ??= [];
      c.tags[k][row] = p.tags[k];
    }
    for (const k in p.fields) {
      c.fields[k] ??= [];
      c.fields[k][row] = p.fields[k];
    }
  }
  return [...out.values()];
}

/** Writes the columns through the store's `writeColumns`, or as points to a store without it. */
export function writeSeriesColumns(store: SeriesStore, columns: SeriesColumns[]): Promise<void> {
  if (store.writeColumns) return store.writeColumns(columns);
  return store.write(pointsOfColumns(columns));
}
