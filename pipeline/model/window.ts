/**
 * What the aggregate stage knows about one event-time window, merged over the partitions this
 * daemon owns. The live API serves these; the series store holds the same numbers as points (DESIGN §5).
 */
export interface RankedValue {
  value: string;
  count: number;
}

export interface WindowSummary {
  /** Window start, epoch ms (the points' timestamp). */
  start: number;
  /** Exclusive end, epoch ms. */
  end: number;
  /** Window length label used as the `window` tag, e.g. "60s". */
  window: string;
  count: number;
  bytes: number;
  status4xx: number;
  status5xx: number;
  uniqueHosts: number;
  byMethod: Record<string, number>;
  /** Keyed by status code as text ("200", "404"); "-" for events without a status. */
  byStatus: Record<string, number>;
  topPaths: RankedValue[];
  topHosts: RankedValue[];
  /** True once the watermark has passed end + allowed lateness: the numbers are final. */
  closed: boolean;
}

/** A window with nothing counted yet. */
export function emptyWindowSummary(start: number, windowMs: number, window: string, closed: boolean): WindowSummary {
  return {
    start,
    end: start + windowMs,
    window,
    count: 0,
    bytes: 0,
    status4xx: 0,
    status5xx: 0,
    uniqueHosts: 0,
    byMethod: {},
    byStatus: {},
    topPaths: [],
    topHosts: [],
    closed,
  };
}

/** Measurement names of DESIGN §5. */
export const MEASUREMENTS = {
  requests: "requests",
  byMethod: "requests_by_method",
  byStatus: "requests_by_status",
  /** Per-window counts by bounded tags (pipeline/aggregate/agent-families.ts): browser, OS family, status class. */
  byBrowser: "requests_by_browser",
  byOs: "requests_by_os",
  byStatusClass: "requests_by_status_class",
  topPaths: "top_paths",
  topHosts: "top_hosts",
  /** The window's HyperLogLog and Space-Saving summaries, base64 (pipeline/aggregate/sketches.ts). */
  sketches: "sketches",
  /** Late events per window: count, through (offset), repaired (by `logbench backfill --late`). */
  late: "late",
} as const;

const WINDOW_TAGS = ["window", "source", "partition"];

/** Tags and fields of each measurement as the aggregate stage writes them (the query catalog's columns). */
export const MEASUREMENT_SCHEMA: Record<string, { tags: string[]; fields: Record<string, "BIGINT" | "VARCHAR"> }> = {
  [MEASUREMENTS.requests]: {
    tags: WINDOW_TAGS,
    fields: { count: "BIGINT", bytes: "BIGINT", status_4xx: "BIGINT", status_5xx: "BIGINT", unique_hosts: "BIGINT" },
  },
  [MEASUREMENTS.byMethod]: { tags: [...WINDOW_TAGS, "method"], fields: { count: "BIGINT" } },
  [MEASUREMENTS.byStatus]: { tags: [...WINDOW_TAGS, "status"], fields: { count: "BIGINT" } },
  [MEASUREMENTS.byBrowser]: { tags: [...WINDOW_TAGS, "browser"], fields: { count: "BIGINT" } },
  [MEASUREMENTS.byOs]: { tags: [...WINDOW_TAGS, "os"], fields: { count: "BIGINT" } },
  [MEASUREMENTS.byStatusClass]: { tags: [...WINDOW_TAGS, "status_class"], fields: { count: "BIGINT" } },
  [MEASUREMENTS.topPaths]: { tags: [...WINDOW_TAGS, "rank"], fields: { value: "VARCHAR", count: "BIGINT" } },
  [MEASUREMENTS.topHosts]: { tags: [...WINDOW_TAGS, "rank"], fields: { value: "VARCHAR", count: "BIGINT" } },
  [MEASUREMENTS.sketches]: { tags: WINDOW_TAGS, fields: { hosts: "VARCHAR", paths: "VARCHAR", top_hosts: "VARCHAR" } },
  [MEASUREMENTS.late]: { tags: WINDOW_TAGS, fields: { count: "BIGINT", through: "BIGINT", repaired: "BIGINT" } },
};
