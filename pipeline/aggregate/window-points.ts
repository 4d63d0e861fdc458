/**
 * A window's series points (DESIGN §5) and the merges over windows: what the live API shows for one window start,
 * and what `logbench query --summary` answers for any range from the stored sketches.
 */
import type { SeriesPoint } from "../../connectors/types.ts";
import { emptyWindowSummary, MEASUREMENTS, type RankedValue, type WindowSummary } from "../model/window.ts";
import { DistinctCounter, SpaceSaving } from "./sketches.ts";
import type { WindowSpec } from "./window-spec.ts";
import type { WindowState } from "./window-state.ts";

function statusLabel(status: number): string {
  return status < 0 ? "-" : String(status);
}

/** The series points of one window of one partition. Writing them twice overwrites. */
export function windowPoints(state: WindowState, partition: number, topK: number): SeriesPoint[] {
  const tags = { window: state.spec.label, source: state.source, partition: String(partition) };
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
    {
      // The summaries themselves, so unique hosts and top-k over any range are merged, never added up.
      measurement: MEASUREMENTS.sketches,
      tags,
      time,
      fields: {
        hosts: state.hosts.serialize(),
        paths: state.paths.serialize(),
        top_hosts: state.topHosts.serialize(),
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
  const counts = (measurement: string, tag: string, byTag: Map<string, number>) => {
    for (const [value, count] of byTag)
      points.push({ measurement, tags: { ...tags, [tag]: value }, time, fields: { count } });
  };
  counts(MEASUREMENTS.byBrowser, "browser", state.byBrowser);
  counts(MEASUREMENTS.byOs, "os", state.byOs);
  counts(MEASUREMENTS.byStatusClass, "status_class", state.byStatusClass);
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
