/**
 * Unique hosts and top-k over any time range, across partitions, daemons and sources, merged from the sketches
 * each window stored beside its points (measurement `sketches`): a union, never a sum of per-window numbers.
 * Windows are chosen by start: those of one kind (default the first configured) starting in [from, to).
 */
import type { SeriesStore } from "../../connectors/types.ts";
import { MergedSketches } from "../aggregate/window-points.ts";
import { windowSpecs } from "../aggregate/window-spec.ts";
import type { Config } from "../config/schema.ts";
import { MEASUREMENTS, type RankedValue } from "../model/window.ts";

export interface RangeSummaryOptions {
  from: number;
  to: number;
  /** Only this source (all by default). */
  source?: string;
  /** The `window` tag of the kind to merge (default: the config's first). */
  window?: string;
}

export interface RangeSummary {
  from: number;
  to: number;
  window: string;
  /** Window points merged (one per window, partition and source). */
  windows: number;
  /** Requests in those windows (sum of `requests.count`). */
  count: number;
  uniqueHosts: number;
  /** Counts too high by at most (requests)/(10·topK), never too low. */
  topPaths: RankedValue[];
  topHosts: RankedValue[];
}

export async function rangeSummary(
  series: SeriesStore,
  config: Pick<Config, "aggregator">,
  options: RangeSummaryOptions,
): Promise<RangeSummary> {
  const window = options.window ?? windowSpecs(config.aggregator)[0]!.label;
  const tags: Record<string, string> = { window };
  if (options.source) tags.source = options.source;
  const query = { from: options.from, to: options.to, tags };
  const merged = new MergedSketches(config.aggregator.topK);
  for (const p of await series.query({ measurement: MEASUREMENTS.sketches, ...query })) merged.addPoint(p);
  let count = 0;
  for (const p of await series.query({ measurement: MEASUREMENTS.requests, ...query })) count += Number(p.fields.count);
  return { from: options.from, to: options.to, window, windows: merged.windows, count, ...merged.result() };
}

/** The summary as rows (what `logbench query --summary` prints): one per metric and rank. */
export function summaryRows(s: RangeSummary): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [
    { metric: "requests", rank: null, value: null, count: s.count },
    { metric: "unique_hosts", rank: null, value: null, count: s.uniqueHosts },
  ];
  s.topPaths.forEach((r, i) => {
    rows.push({ metric: "top_paths", rank: i + 1, value: r.value, count: r.count });
  });
  s.topHosts.forEach((r, i) => {
    rows.push({ metric: "top_hosts", rank: i + 1, value: r.value, count: r.count });
  });
  return rows;
}
