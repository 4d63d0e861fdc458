/**
 * The live page's build-time snapshot rebuilds each window from the series store's per-partition points; a
 * reader compares it with what the daemon showed live, so the sums must be the window's, not one partition's.
 */
import { describe, expect, it } from "vitest";
import type { SeriesPoint } from "../../connectors/types.ts";
import { windowsFromPoints } from "../../pipeline/readers/windows.ts";

const T0 = Date.UTC(1995, 6, 1, 0, 0);
const MIN = 60_000;
const tags = (partition: number, extra: Record<string, string> = {}) => ({
  window: "60s",
  source: "sample",
  partition: String(partition),
  ...extra,
});
const point = (measurement: string, time: number, t: Record<string, string>, fields: SeriesPoint["fields"]) => ({
  measurement,
  time,
  tags: t,
  fields,
});

describe("windowsFromPoints", () => {
  const options = { windowMs: MIN, latenessMs: 5 * MIN, topK: 2 };
  const windows = windowsFromPoints(
    {
      requests: [
        point("requests", T0, tags(0), { count: 3, bytes: 300, status_4xx: 1, status_5xx: 0, unique_hosts: 2 }),
        point("requests", T0, tags(1), { count: 2, bytes: 50, status_4xx: 0, status_5xx: 1, unique_hosts: 1 }),
        point("requests", T0 + 10 * MIN, tags(2), {
          count: 7,
          bytes: 70,
          status_4xx: 0,
          status_5xx: 0,
          unique_hosts: 4,
        }),
      ],
      byMethod: [
        point("requests_by_method", T0, tags(0, { method: "GET" }), { count: 3 }),
        point("requests_by_method", T0, tags(1, { method: "GET" }), { count: 1 }),
        point("requests_by_method", T0, tags(1, { method: "HEAD" }), { count: 1 }),
      ],
      byStatus: [
        point("requests_by_status", T0, tags(0, { status: "200" }), { count: 2 }),
        point("requests_by_status", T0, tags(0, { status: "404" }), { count: 1 }),
        point("requests_by_status", T0, tags(1, { status: "200" }), { count: 1 }),
        point("requests_by_status", T0, tags(1, { status: "500" }), { count: 1 }),
      ],
      topPaths: [
        point("top_paths", T0, tags(0, { rank: "1" }), { value: "/a", count: 2 }),
        point("top_paths", T0, tags(0, { rank: "2" }), { value: "/b", count: 1 }),
        point("top_paths", T0, tags(1, { rank: "1" }), { value: "/b", count: 2 }),
        point("top_paths", T0, tags(1, { rank: "2" }), { value: "/c", count: 1 }),
        // A point of a window that is not in `requests` (outside the range asked) is ignored.
        point("top_paths", T0 - MIN, tags(1, { rank: "1" }), { value: "/old", count: 9 }),
      ],
      topHosts: [],
    },
    options,
  );

  it("adds the partitions of one window up, newest window first", () => {
    expect(windows.map((w) => w.start)).toEqual([T0 + 10 * MIN, T0]);
    const w = windows[1]!;
    expect([w.count, w.bytes, w.status4xx, w.status5xx, w.uniqueHosts]).toEqual([5, 350, 1, 1, 3]);
    expect(w.byMethod).toEqual({ GET: 4, HEAD: 1 });
    expect(w.byStatus).toEqual({ "200": 3, "404": 1, "500": 1 });
    expect(w.end - w.start).toBe(MIN);
    expect(w.window).toBe("60s");
  });

  it("merges each partition's ranked values and keeps the top k", () => {
    expect(windows[1]!.topPaths).toEqual([
      { value: "/b", count: 3 },
      { value: "/a", count: 2 },
    ]);
    expect(windows[0]!.topPaths).toEqual([]);
  });

  it("marks a window closed once the newest window is past its end plus the lateness", () => {
    expect(windows.map((w) => w.closed)).toEqual([false, true]);
  });
});
