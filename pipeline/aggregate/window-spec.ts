/**
 * The window kinds the aggregator keeps: tumbling (`{size: 60s}`) and hopping (`{size: 5m, slide: 1m}`, what Spark's
 * `window(ts, "5 minutes", "1 minute")` gives). Every point carries its kind's label as the `window` tag.
 */
import type { Config } from "../config/schema.ts";

export interface WindowSpec {
  /** Window length, ms. */
  size: number;
  /** Distance between window starts, ms; equal to size for tumbling windows. */
  slide: number;
  /** The `window` tag: "60s" for tumbling windows (as before hopping ones existed), "5m/1m" for hopping ones. */
  label: string;
}

/** Label of a tumbling window of this length, e.g. "60s" (the `window` tag of every point). */
export function windowLabel(windowMs: number): string {
  return windowMs % 1000 === 0 ? `${windowMs / 1000}s` : `${windowMs}ms`;
}

/** "5m", "90s", "1h", "250ms": the shortest exact unit. */
function compact(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return windowLabel(ms);
}

export function windowSpec(size: number, slide: number = size): WindowSpec {
  if (!(size > 0) || !(slide > 0) || slide > size || size % slide !== 0)
    throw new Error(`A window's slide must divide its size: got size ${size} ms, slide ${slide} ms`);
  return { size, slide, label: slide === size ? windowLabel(size) : `${compact(size)}/${compact(slide)}` };
}

/** `aggregator.windows` when given, else the single tumbling `aggregator.window`. */
export function windowSpecs(config: Pick<Config["aggregator"], "window" | "windows">): WindowSpec[] {
  const list = config.windows?.length ? config.windows : [{ size: config.window }];
  return list.map((w) => windowSpec(w.size, w.slide ?? w.size));
}

/** Calls `fn` with the start of every window of this kind that contains `ts`, newest first. */
export function forEachStart(spec: WindowSpec, ts: number, fn: (start: number) => void): void {
  const newest = Math.floor(ts / spec.slide) * spec.slide;
  for (let start = newest; start > ts - spec.size; start -= spec.slide) fn(start);
}
