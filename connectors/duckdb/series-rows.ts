/**
 * A write's points in columns, per measurement: what the DuckDB series store keeps from `write()` until its
 * transaction appends them.
 *
 * The aggregate writes about one point per event on a sparse log replayed fast (docs/benchmarks.md), and a write
 * waits for the transaction under way. Kept as objects (a merged point, its key and its field object per row), all of
 * that lived across the wait and was promoted by the garbage collector; in columns it is a few arrays per
 * measurement. The series keys that find points written twice are made at the transaction and dropped before its
 * first await.
 */
import { LogbenchError } from "../errors.ts";
import { columnsOfPoints } from "../series-columns.ts";
import type { SeriesColumns, SeriesPoint } from "../types.ts";

export type FieldValue = number | string;

/**
 * One tag or field column. `values[i]` is row i's value, undefined where the row does not carry it (a tag's empty
 * value is no tag either).
 */
export interface RowColumn<T> {
  /** The name as first written (DuckDB identifiers compare case-insensitively: later spellings land here too). */
  name: string;
  values: Array<T | undefined>;
  /** The writer's own array (writeColumns): copied before anything here changes it. */
  borrowed?: boolean;
}

export interface MeasurementRows {
  /** Epoch ms, whole, per row. */
  time: number[];
  tags: ColumnSet<string>;
  fields: ColumnSet<FieldValue>;
}

/** Columns by name, where names that differ only in case are one column. */
export class ColumnSet<T> {
  /** Every spelling seen → its column. */
  private readonly bySpelling = new Map<string, RowColumn<T>>();
  /** Lower-case name → column: one per column, in the order they were first written. */
  readonly byLower = new Map<string, RowColumn<T>>();

  /** Takes the writer's array as the column's values, or merges it into the column of that name already there. */
  borrow(name: string, values: Array<T | undefined>): void {
    const lower = name.toLowerCase();
    const col = this.byLower.get(lower);
    if (!col) {
      const fresh = { name, values, borrowed: true };
      this.byLower.set(lower, fresh);
      this.bySpelling.set(name, fresh);
      return;
    }
    // "Method" and "method" in one write's columns: one column, the later name's values win where it has them.
    if (col.borrowed) {
      col.values = col.values.slice();
      col.borrowed = false;
    }
    for (let i = 0; i < values.length; i++) if (values[i] !== undefined) col.values[i] = values[i];
  }

  column(name: string): RowColumn<T> {
    let col = this.bySpelling.get(name);
    if (col) return col;
    const lower = name.toLowerCase();
    col = this.byLower.get(lower);
    if (!col) {
      col = { name, values: [] };
      this.byLower.set(lower, col);
    }
    this.bySpelling.set(name, col);
    return col;
  }

  has(name: string): boolean {
    return this.bySpelling.has(name) || this.byLower.has(name.toLowerCase());
  }

  get(name: string): RowColumn<T> | undefined {
    return this.bySpelling.get(name) ?? this.byLower.get(name.toLowerCase());
  }
}

function emptyRows(): MeasurementRows {
  return { time: [], tags: new ColumnSet(), fields: new ColumnSet() };
}

function reservedName(k: string): boolean {
  return k === "" || k.toLowerCase() === "time";
}

/** The points in columns, validated as `columnsToRows` does (one check for both ways in). */
export function toRows(points: readonly SeriesPoint[]): Map<string, MeasurementRows> {
  return columnsToRows(columnsOfPoints(points));
}

/**
 * Validates the writer's columns (nothing is kept when one is refused) and takes them as rows without copying: the
 * writer leaves them alone until the write settles. Several columns of one measurement go one after the other.
 */
export function columnsToRows(columns: readonly SeriesColumns[]): Map<string, MeasurementRows> {
  const parts: Array<{ measurement: string; rows: MeasurementRows }> = [];
  for (const c of columns) {
    const n = c.time.length;
    if (n === 0) continue;
    const bad = (row: number, why: string) =>
      new LogbenchError("BAD_REQUEST", `point of "${c.measurement}" at ${c.time[row]}: ${why}`, { retryable: false });
    if (!c.measurement) throw bad(0, "empty measurement name");
    let time = c.time;
    for (let i = 0; i < n; i++) {
      const t = time[i]!;
      if (!Number.isFinite(t)) throw bad(i, "time is not a finite number");
      if (t !== Math.floor(t)) {
        if (time === c.time) time = c.time.slice();
        time[i] = Math.floor(t);
      }
    }
    const rows: MeasurementRows = { time, tags: new ColumnSet(), fields: new ColumnSet() };
    const carried = new Uint8Array(n);
    for (const k in c.fields) {
      if (reservedName(k)) throw bad(0, `"${k}" cannot be a tag or field name`);
      const values = c.fields[k]!;
      for (let i = 0; i < values.length && i < n; i++) {
        const v = values[i];
        if (v === undefined) continue;
        if (typeof v !== "string" && (typeof v !== "number" || !Number.isFinite(v)))
          throw bad(i, `field "${k}" is not a finite number or a string`);
        carried[i] = 1;
      }
      rows.fields.borrow(k, values.length > n ? values.slice(0, n) : values);
    }
    const missing = carried.indexOf(0);
    if (missing >= 0) throw bad(missing, "a point needs at least one field");
    for (const k in c.tags) {
      if (reservedName(k)) throw bad(0, `"${k}" cannot be a tag or field name`);
      if (rows.fields.has(k)) throw bad(0, `"${k}" is both a tag and a field`);
      const values = c.tags[k]!;
      rows.tags.borrow(k, values.length > n ? values.slice(0, n) : values);
    }
    parts.push({ measurement: c.measurement, rows });
  }
  const out = new Map<string, MeasurementRows>();
  for (const { measurement, rows } of parts) out.set(measurement, rows);
  // Two parts of one measurement: one after the other, copied into one set of columns.
  if (out.size < parts.length) return concatRows(parts.map(({ measurement, rows }) => new Map([[measurement, rows]])));
  return out;
}

/** The rows of several writes in their order, one set of columns per measurement (a write's own is not copied). */
export function concatRows(writes: ReadonlyArray<Map<string, MeasurementRows>>): Map<string, MeasurementRows> {
  if (writes.length === 1) return writes[0]!;
  const out = new Map<string, MeasurementRows>();
  for (const w of writes) {
    for (const [measurement, rows] of w) {
      let into = out.get(measurement);
      if (!into) {
        into = emptyRows();
        out.set(measurement, into);
      }
      const at = into.time.length;
      const copy = <T>(from: ColumnSet<T>, to: ColumnSet<T>, other: ColumnSet<unknown>, what: string) => {
        for (const col of from.byLower.values()) {
          if (other.has(col.name))
            throw new LogbenchError(
              "BAD_REQUEST",
              `"${col.name}" of ${measurement} is a ${what} in one write and not in another`,
              { retryable: false },
            );
          const target = to.column(col.name).values;
          for (let i = 0; i < col.values.length; i++) if (col.values[i] !== undefined) target[at + i] = col.values[i];
        }
      };
      copy(rows.tags, into.tags, into.fields, "tag");
      copy(rows.fields, into.fields, into.tags, "field");
      for (const t of rows.time) into.time.push(t);
    }
  }
  return out;
}

/**
 * The one value every one of the `n` rows has in this tag column ("" when none has one: an empty tag is no tag), or
 * undefined when they differ. Labels a writer made once (the aggregate's window, source and partition) compare by
 * reference.
 */
export function oneValue(values: ReadonlyArray<string | undefined>, n: number): string | undefined {
  const first = values[0] ?? "";
  for (let i = 1; i < n; i++) if ((values[i] ?? "") !== first) return undefined;
  return first;
}

/** The tag columns whose values differ between rows (oneValue undefined). */
export function varyingTags(rows: MeasurementRows): RowColumn<string>[] {
  return [...rows.tags.byLower.values()].filter((col) => oneValue(col.values, rows.time.length) === undefined);
}

/**
 * Rows that carry the same time and tag set as an earlier row are folded into it (their fields win, the earlier
 * row's other fields stay: InfluxDB's field merge) and marked in the returned mask, or null when there are none.
 *
 * A row's series key is its time and an id per tag column that varies in the write (a column with one value cannot
 * tell rows apart), hashed to a small integer; rows of one hash are compared by time and ids, so two keys that
 * share a hash stay two. A key string per row (the time and every tag value joined) was a string per point, and the
 * aggregate writes about as many points as it reads events (docs/benchmarks.md). `varying`: those columns, when the
 * caller has already told them apart.
 */
export function foldRepeats(
  rows: MeasurementRows,
  varying: Iterable<RowColumn<string>> = varyingTags(rows),
): Uint8Array | null {
  const n = rows.time.length;
  const time = rows.time;
  const ids: Int32Array[] = [];
  for (const col of varying) ids.push(tagIds(col.values, n));
  const same = (a: number, b: number) => {
    if (time[a] !== time[b]) return false;
    for (const column of ids) if (column[a] !== column[b]) return false;
    return true;
  };
  /** Hash → the first row with it; rows of another key with a hash already taken, by hash (rare). */
  const first = new Map<number, number>();
  let shared: Map<number, number[]> | null = null;
  let folded: Uint8Array | null = null;
  for (let i = 0; i < n; i++) {
    const t = time[i]!;
    let h = mix(mix(0x2545f491, t % 0x100000000), Math.floor(t / 0x100000000));
    for (const column of ids) h = mix(h, column[i]!);
    let earlier = first.get(h);
    if (earlier === undefined) {
      first.set(h, i);
      continue;
    }
    if (!same(earlier, i)) {
      shared ??= new Map();
      const others = shared.get(h);
      earlier = others?.find((j) => same(j, i));
      if (earlier === undefined) {
        if (others) others.push(i);
        else shared.set(h, [i]);
        continue;
      }
    }
    folded ??= new Uint8Array(n);
    folded[i] = 1;
    for (const col of rows.fields.byLower.values()) {
      const v = col.values[i];
      if (v === undefined) continue;
      if (col.borrowed) {
        col.values = col.values.slice();
        col.borrowed = false;
      }
      col.values[earlier] = v;
    }
  }
  return folded;
}

/** An id per row for its value in a tag column: equal values, equal ids (none and "" are 0). */
function tagIds(values: ReadonlyArray<string | undefined>, n: number): Int32Array {
  const out = new Int32Array(n);
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === undefined || v === "") continue;
    let id = seen.get(v);
    if (id === undefined) {
      id = seen.size + 1;
      seen.set(v, id);
    }
    out[i] = id;
  }
  return out;
}

/** One step of a 32-bit multiplicative hash (a small integer, so a Map key with no heap number). */
function mix(h: number, x: number): number {
  h = Math.imul(h ^ (x | 0), 0x9e3779b1);
  return (h ^ (h >>> 15)) | 0;
}
