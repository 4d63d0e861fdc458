/**
 * SeriesPoint ↔ InfluxDB line protocol, shared by the 1.x and 2.x stores so both send the same bytes.
 * Serialisation is @influxdata/influxdb-client's `Point` (its escaping of measurement, tag and field
 * names and values); timestamps are epoch milliseconds, sent with precision=ms.
 * Line protocol: https://docs.influxdata.com/influxdb/v1.6/write_protocols/line_protocol_reference/
 */
import { Point } from "@influxdata/influxdb-client";
import { LogbenchError } from "../errors.ts";
import type { SeriesPoint } from "../types.ts";

/** Lines per HTTP write request: InfluxData recommends batches of about 5,000 points. */
export const LINES_PER_REQUEST = 5000;

const msTimestamp = { convertTime: (t: string | number | Date | undefined) => String(t) };

/**
 * One line per point. Safe integers become integer fields (`42i`), other numbers floats, strings string
 * fields; an empty tag value is left out, as InfluxDB cannot store it. Throws BAD_REQUEST, before anything
 * is sent, for a point InfluxDB would refuse.
 */
export function toLineProtocol(points: readonly SeriesPoint[]): string[] {
  return points.map((p) => {
    const bad = (why: string) =>
      new LogbenchError("BAD_REQUEST", `point of "${p.measurement}" at ${p.time}: ${why}`, { retryable: false });
    if (!p.measurement) throw bad("empty measurement name");
    if (!Number.isFinite(p.time)) throw bad("time is not a finite number");
    const point = new Point(p.measurement).timestamp(Math.floor(p.time));
    for (const [k, v] of Object.entries(p.tags)) if (v !== "") point.tag(k, v);
    for (const [k, v] of Object.entries(p.fields)) {
      if (typeof v === "string") point.stringField(k, v);
      else if (typeof v !== "number" || !Number.isFinite(v)) throw bad(`field "${k}" is not a finite number`);
      else if (Number.isSafeInteger(v)) point.intField(k, v);
      else point.floatField(k, v);
    }
    const line = point.toLineProtocol(msTimestamp);
    if (!line) throw bad("a point needs at least one field");
    return line;
  });
}

/** Split into request-sized chunks. */
export function chunks<T>(items: readonly T[], size = LINES_PER_REQUEST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The SeriesStore order: time, then the tag set as "k=v,k2=v2" with keys sorted. */
export function comparePoints(a: SeriesPoint, b: SeriesPoint): number {
  if (a.time !== b.time) return a.time - b.time;
  const ka = tagSetKey(a.tags);
  const kb = tagSetKey(b.tags);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export function tagSetKey(tags: Record<string, string>): string {
  return Object.keys(tags)
    .sort()
    .map((k) => `${k}=${tags[k]}`)
    .join(",");
}
