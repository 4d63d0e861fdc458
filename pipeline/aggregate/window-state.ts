/**
 * Event-time tumbling windows for one bus partition: pure logic, no I/O.
 *
 * A window [start, start + size) stays open until the partition's watermark (the largest event time
 * seen) reaches end + allowed lateness; an event for a closed window is late and is reported, not added.
 * Windows are keyed by (source, start) so every point's tag set is deterministic (DESIGN §4, §5).
 */
import type { SeriesPoint } from "../../connectors/types.ts";
import type { LogEvent } from "../model/log-event.ts";
import { emptyWindowSummary, MEASUREMENTS, type WindowSummary } from "../model/window.ts";
import { DistinctCounter, SpaceSaving } from "./sketches.ts";

export interface WindowOptions {
  /** Window length, ms. */
  windowMs: number;
  /** Allowed lateness, ms. */
  latenessMs: number;
  /** Ranks reported in top_paths / top_hosts. */
  topK: number;
}

export class WindowState {
  count = 0;
  bytes = 0;
  status4xx = 0;
  status5xx = 0;
  readonly hosts = new DistinctCounter();
  readonly byMethod = new Map<string, number>();
  /** Keyed by status code; -1 for events without one (shown as "-"). */
  readonly byStatus = new Map<number, number>();
  readonly paths: SpaceSaving;
  readonly topHosts: SpaceSaving;
  /** Lowest bus offset that contributed; the aggregate stage never commits past it while the window is open. */
  firstOffset = Number.POSITIVE_INFINITY;
  dirty = false;

  constructor(
    readonly source: string,
    readonly start: number,
    readonly end: number,
    topK: number,
  ) {
    // Ten counters per reported rank keeps the top-k exact for all but the flattest distributions.
    this.paths = new SpaceSaving(topK * 10);
    this.topHosts = new SpaceSaving(topK * 10);
  }

  add(event: LogEvent, offset: number): void {
    this.count++;
    this.bytes += event.bytes ?? 0;
    const status = event.status;
    if (status !== null && status >= 400 && status < 500) this.status4xx++;
    else if (status !== null && status >= 500 && status < 600) this.status5xx++;
    const method = event.method ?? "-";
    this.byMethod.set(method, (this.byMethod.get(method) ?? 0) + 1);
    const statusKey = status ?? -1;
    this.byStatus.set(statusKey, (this.byStatus.get(statusKey) ?? 0) + 1);
    if (event.host !== null) {
      this.hosts.add(event.host);
      this.topHosts.add(event.host);
    }
    if (event.path !== null) this.paths.add(event.path);
    if (offset < this.firstOffset) this.firstOffset = offset;
    this.dirty = true;
  }
}

export class PartitionWindows {
  /** Largest event time seen in this partition (ms); -Infinity before the first event. */
  watermark = Number.NEGATIVE_INFINITY;
  readonly open = new Map<string, WindowState>();

  constructor(readonly options: WindowOptions) {}

  windowStart(ts: number): number {
    return Math.floor(ts / this.options.windowMs) * this.options.windowMs;
  }

  /** True when a window ending at `end` can no longer change. */
  isClosed(end: number): boolean {
    return end + this.options.latenessMs <= this.watermark;
  }

  /** The window of the previous event: most events fall in the same window as the one before. */
  private last: WindowState | null = null;

  /** Adds the event to its window; returns false (and changes nothing) when the event is too late. */
  add(event: LogEvent, offset: number): boolean {
    let state = this.last;
    if (state === null || event.ts < state.start || event.ts >= state.end || event.source !== state.source) {
      const start = this.windowStart(event.ts);
      const end = start + this.options.windowMs;
      if (this.isClosed(end)) return false;
      const key = `${event.source}\u0000${start}`;
      state = this.open.get(key) ?? null;
      if (!state) {
        state = new WindowState(event.source, start, end, this.options.topK);
        this.open.set(key, state);
      }
      this.last = state;
    } else if (this.isClosed(state.end)) return false;
    state.add(event, offset);
    if (event.ts > this.watermark) this.watermark = event.ts;
    return true;
  }

  /**
   * Windows with changes since the last drain (to be written), and the closed ones, which are
   * forgotten here: after a drain only open windows remain in memory.
   */
  drain(): { changed: WindowState[]; closed: WindowState[] } {
    const changed: WindowState[] = [];
    const closed: WindowState[] = [];
    this.last = null;
    for (const [key, state] of this.open) {
      if (state.dirty) changed.push(state);
      if (this.isClosed(state.end)) {
        closed.push(state);
        this.open.delete(key);
      }
    }
    return { changed, closed };
  }

  /** Offset from which a restart must re-read to rebuild every open window. */
  resumeOffset(nextOffset: number): number {
    let min = nextOffset;
    for (const state of this.open.values()) if (state.firstOffset < min) min = state.firstOffset;
    return min;
  }
}

function statusLabel(status: number): string {
  return status < 0 ? "-" : String(status);
}

export function windowLabel(windowMs: number): string {
  return windowMs % 1000 === 0 ? `${windowMs / 1000}s` : `${windowMs}ms`;
}

/** The series points of one window of one partition (DESIGN §5). Writing them twice overwrites. */
export function windowPoints(state: WindowState, partition: number, windowMs: number, topK: number): SeriesPoint[] {
  const tags = { window: windowLabel(windowMs), source: state.source, partition: String(partition) };
  const time = state.start;
  const points: SeriesPoint[] = [
    {
      measurement: MEASUREMENTS.requests,
      tags,
      time,
      fields: {
        count: state.count,
        bytes: state.bytes,
        status_4xx: state.status4xx,
        status_5xx: state.status5xx,
        unique_hosts: state.hosts.count(),
      },
    },
  ];
  for (const [method, count] of state.byMethod)
    points.push({ measurement: MEASUREMENTS.byMethod, tags: { ...tags, method }, time, fields: { count } });
  for (const [status, count] of state.byStatus)
    points.push({
      measurement: MEASUREMENTS.byStatus,
      tags: { ...tags, status: statusLabel(status) },
      time,
      fields: { count },
    });
  const ranked = (measurement: string, sketch: SpaceSaving) =>
    sketch.top(topK).forEach((r, i) => {
      points.push({
        measurement,
        tags: { ...tags, rank: String(i + 1) },
        time,
        fields: { value: r.value, count: r.count },
      });
    });
  ranked(MEASUREMENTS.topPaths, state.paths);
  ranked(MEASUREMENTS.topHosts, state.topHosts);
  return points;
}

/** Merge the states of one window start (several partitions and sources) into what the live API shows. */
export function summarize(states: WindowState[], windowMs: number, topK: number, closed: boolean): WindowSummary {
  const first = states[0]!;
  const hosts = new DistinctCounter();
  const paths = new SpaceSaving(topK * 10);
  const topHosts = new SpaceSaving(topK * 10);
  const summary = emptyWindowSummary(first.start, windowMs, windowLabel(windowMs), closed);
  for (const s of states) {
    summary.count += s.count;
    summary.bytes += s.bytes;
    summary.status4xx += s.status4xx;
    summary.status5xx += s.status5xx;
    for (const [k, v] of s.byMethod) summary.byMethod[k] = (summary.byMethod[k] ?? 0) + v;
    for (const [k, v] of s.byStatus) summary.byStatus[statusLabel(k)] = (summary.byStatus[statusLabel(k)] ?? 0) + v;
    hosts.merge(s.hosts);
    paths.merge(s.paths);
    topHosts.merge(s.topHosts);
  }
  summary.uniqueHosts = hosts.count();
  summary.topPaths = paths.top(topK).map(({ value, count }) => ({ value, count }));
  summary.topHosts = topHosts.top(topK).map(({ value, count }) => ({ value, count }));
  return summary;
}
