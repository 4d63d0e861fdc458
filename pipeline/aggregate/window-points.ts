/**
 * A window's series points (DESIGN §5) and the merges over windows: what the live API shows for one window start,
 * and what `logbench query --summary` answers for any range from the stored sketches.
 */
import { pointsOfColumns } from "../../connectors/series-columns.ts";
import type { SeriesColumns, SeriesPoint } from "../../connectors/types.ts";
import { emptyWindowSummary, MEASUREMENTS, type RankedValue, type WindowSummary } from "../model/window.ts";
import { DistinctCounter, SpaceSaving } from "./sketches.ts";
import type { WindowSpec } from "./window-spec.ts";
import type { WindowState } from "./window-state.ts";

/**
 * Tag values made once and shared by every row that has them: a window's rows were a new string each for its
 * partition, its ranks and its status codes, kept for the length of the write.
 */
const labels = new Map<number, string>();
function label(n: number): string {
  let text = labels.get(n);
  if (text === undefined) {
    text = String(n);
    // Status codes, ranks and partitions are few; any other number is made each time.
    if (labels.size < 4096) labels.set(n, text);
  }
  return text;
}

function statusLabel(status: number): string {
  return status < 0 ? "-" : label(status);
}

/** One measurement's columns as the windows fill them: the window, source and partition tags, one more tag or none. */
interface WindowTable {
  columns: SeriesColumns;
  window: string[];
  source: string[];
  partition: string[];
  /** The measurement's own tag (method, status, rank…), or null. */
  tag: string[] | null;
  fields: Array<Array<number | string>>;
}

/**
 * The series of windows in columns, one SeriesColumns per measurement (DESIGN §5): what a flush writes, with no
 * object per point (a point per object, kept for the length of the write, was most of what the aggregate's garbage
 * collector promoted: docs/benchmarks.md). Writing the same window twice overwrites.
 */
export class WindowColumns {
  private readonly tables = new Map<string, WindowTable>();
  /** Rows added (series points). */
  rows = 0;

  constructor(private readonly topK: number) {}

  /** Adds the series of one window of one partition. */
  add(state: WindowState, partition: number): this {
    const part = label(partition);
    const row = (t: WindowTable, tag: string | null): Array<Array<number | string>> => {
      t.columns.time.push(state.start);
      t.window.push(state.spec.label);
      t.source.push(state.source);
      t.partition.push(part);
      if (t.tag) t.tag.push(tag!);
      this.rows++;
      return t.fields;
    };
    const requests = row(this.table(MEASUREMENTS.requests, null, REQUEST_FIELDS), null);
    requests[0]!.push(state.count);
    requests[1]!.push(state.bytes);
    requests[2]!.push(state.status4xx);
    requests[3]!.push(state.status5xx);
    requests[4]!.push(state.hosts.count());
    // The summaries themselves, so unique hosts and top-k over any range are merged, never added up.
    const sketches = row(this.table(MEASUREMENTS.sketches, null, SKETCH_FIELDS), null);
    sketches[0]!.push(state.hosts.serialize());
    sketches[1]!.push(state.paths.serialize());
    sketches[2]!.push(state.topHosts.serialize());
    const counts = (measurement: string, tag: string, byTag: Map<string, number>) => {
      if (byTag.size === 0) return;
      const t = this.table(measurement, tag, COUNT_FIELDS);
      byTag.forEach((count, value) => {
        row(t, value)[0]!.push(count);
      });
    };
    counts(MEASUREMENTS.byMethod, "method", state.byMethod);
    if (state.byStatus.size > 0) {
      const t = this.table(MEASUREMENTS.byStatus, "status", COUNT_FIELDS);
      state.byStatus.forEach((count, status) => {
        row(t, statusLabel(status))[0]!.push(count);
      });
    }
    counts(MEASUREMENTS.byBrowser, "browser", state.byBrowser);
    counts(MEASUREMENTS.byOs, "os", state.byOs);
    counts(MEASUREMENTS.byStatusClass, "status_class", state.byStatusClass);
    const ranked = (measurement: string, sketch: SpaceSaving) => {
      const top = sketch.top(this.topK);
      if (top.length === 0) return;
      const t = this.table(measurement, "rank", RANKED_FIELDS);
      for (let i = 0; i < top.length; i++) {
        const fields = row(t, label(i + 1));
        fields[0]!.push(top[i]!.value);
        fields[1]!.push(top[i]!.count);
      }
    };
    ranked(MEASUREMENTS.topPaths, state.paths);
    ranked(MEASUREMENTS.topHosts, state.topHosts);
    return this;
  }

  /** The columns, one per measurement that has rows. */
  columns(): SeriesColumns[] {
    return [...this.tables.values()].map((t) => t.columns);
  }

  private table(measurement: string, tag: string | null, fieldNames: readonly string[]): WindowTable {
    let t = this.tables.get(measurement);
    if (!t) {
      const window: string[] = [];
      const source: string[] = [];
      const partition: string[] = [];
      const tags: SeriesColumns["tags"] = { window, source, partition };
      const own: string[] | null = tag ? [] : null;
      if (tag) tags[tag] = own!;
      const fields: WindowTable["fields"] = [];
      const byName: SeriesColumns["fields"] = {};
      for (const name of fieldNames) {
        const values: Array<number | string> = [];
        fields.push(values);
        byName[name] = values;
      }
      t = { columns: { measurement, time: [], tags, fields: byName }, window, source, partition, tag: own, fields };
      this.tables.set(measurement, t);
    }
    return t;
  }
}

const REQUEST_FIELDS = ["count", "bytes", "status_4xx", "status_5xx", "unique_hosts"];
const SKETCH_FIELDS = ["hosts", "paths", "top_hosts"];
const COUNT_FIELDS = ["count"];
const RANKED_FIELDS = ["value", "count"];

/** The series points of one window of one partition (WindowColumns' rows as points). */
export function windowPoints(state: WindowState, partition: number, topK: number): SeriesPoint[] {
  return pointsOfColumns(new WindowColumns(topK).add(state, partition).columns());
}

/** Merge the states of one window start (several partitions and sources) into what the live API shows. */
export function summarize(states: WindowState[], spec: WindowSpec, topK: number, closed: boolean): WindowSummary {
  const first = states[0]!;
  const merged = new MergedSketches(topK);
  const summary = emptyWindowSummary(first.start, spec.size, spec.label, closed);
  for (const s of states) {
    summary.count += s.count;
    summary.bytes += s.bytes;
    summary.status4xx += s.status4xx;
    summary.status5xx += s.status5xx;
    for (const [k, v] of s.byMethod) summary.byMethod[k] = (summary.byMethod[k] ?? 0) + v;
    for (const [k, v] of s.byStatus) summary.byStatus[statusLabel(k)] = (summary.byStatus[statusLabel(k)] ?? 0) + v;
    merged.add(s.hosts, s.paths, s.topHosts);
  }
  return { ...summary, ...merged.result() };
}

/** Unique hosts and top-k merged over any set of windows. */
export class MergedSketches {
  private readonly hosts = new DistinctCounter();
  private readonly paths: SpaceSaving;
  private readonly topHosts: SpaceSaving;
  /** Windows merged. */
  windows = 0;

  constructor(private readonly topK: number) {
    this.paths = new SpaceSaving(topK * 10);
    this.topHosts = new SpaceSaving(topK * 10);
  }

  add(hosts: DistinctCounter, paths: SpaceSaving, topHosts: SpaceSaving): void {
    this.hosts.merge(hosts);
    this.paths.merge(paths);
    this.topHosts.merge(topHosts);
    this.windows++;
  }

  /** One `sketches` point (its three base64 fields). */
  addPoint(point: SeriesPoint): void {
    const text = (name: string) => {
      const v = point.fields[name];
      if (typeof v !== "string")
        throw new Error(`The sketches point at ${new Date(point.time).toISOString()} has no string field "${name}"`);
      return v;
    };
    this.add(
      DistinctCounter.deserialize(text("hosts")),
      SpaceSaving.deserialize(text("paths")),
      SpaceSaving.deserialize(text("top_hosts")),
    );
  }

  result(): { uniqueHosts: number; topPaths: RankedValue[]; topHosts: RankedValue[] } {
    const ranked = (s: SpaceSaving) => s.top(this.topK).map(({ value, count }) => ({ value, count }));
    return { uniqueHosts: this.hosts.count(), topPaths: ranked(this.paths), topHosts: ranked(this.topHosts) };
  }
}
