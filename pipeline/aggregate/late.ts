/**
 * Late events, counted per window, for the `late` measurement: which windows are incomplete and by how much.
 *
 * One point per (window kind, source, partition, window start) with fields `count` (late events so far) and
 * `through` (the partition's next offset when it was written). Counting survives restarts exactly: the stage loads the
 * partition's points when it is assigned, keeps counting on top of them, and skips a late event whose offset is below
 * the window's `through` (it was counted before) or below the checkpoint's `c` (counted and written before the
 * commit). `logbench backfill --late` repairs the windows and sets `repaired` to the count it repaired; the stage
 * never writes `repaired`, so a field merge keeps it.
 */
import type { SeriesPoint } from "../../connectors/types.ts";
import { MEASUREMENTS } from "../model/window.ts";

interface LateWindow {
  window: string;
  source: string;
  start: number;
  count: number;
  through: number;
  dirty: boolean;
}

export class LateCounts {
  private readonly windows = new Map<string, LateWindow>();
  /** Offsets below this were processed before the restart (the checkpoint's `c`). */
  countFrom = 0;
  /** Late events counted since the last drain (for the metric). */
  fresh = 0;

  constructor(readonly partition: number) {}

  /** The partition's `late` points as stored: counting continues from them. */
  load(points: SeriesPoint[]): void {
    for (const p of points) {
      const window = p.tags.window ?? "";
      const source = p.tags.source ?? "";
      this.windows.set(key(window, source, p.time), {
        window,
        source,
        start: p.time,
        count: Number(p.fields.count ?? 0),
        through: Number(p.fields.through ?? 0),
        dirty: false,
      });
    }
  }

  count(window: string, source: string, start: number, offset: number): void {
    if (offset < this.countFrom) return;
    const k = key(window, source, start);
    let w = this.windows.get(k);
    if (!w) {
      w = { window, source, start, count: 0, through: 0, dirty: false };
      this.windows.set(k, w);
    }
    if (offset < w.through) return;
    w.count++;
    w.dirty = true;
    this.fresh++;
  }

  /** Points of the windows that changed, `through` = the partition's next offset; marks them written. */
  drain(next: number): SeriesPoint[] {
    const points: SeriesPoint[] = [];
    for (const w of this.windows.values()) {
      if (!w.dirty) continue;
      w.through = next;
      w.dirty = false;
      points.push({
        measurement: MEASUREMENTS.late,
        tags: { window: w.window, source: w.source, partition: String(this.partition) },
        time: w.start,
        fields: { count: w.count, through: next },
      });
    }
    return points;
  }
}

function key(window: string, source: string, start: number): string {
  return `${window}\u0000${source}\u0000${start}`;
}
