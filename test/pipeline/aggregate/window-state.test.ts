import { describe, expect, it } from "vitest";
import { PartitionWindows, summarize, windowPoints } from "../../../pipeline/aggregate/window-state.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";

const T0 = Date.UTC(1995, 6, 1, 4, 0, 0);

function event(ts: number, over: Partial<LogEvent> = {}): LogEvent {
  return {
    ts,
    host: "h1",
    ident: null,
    user: null,
    method: "GET",
    path: "/",
    query: null,
    protocol: "HTTP/1.0",
    status: 200,
    bytes: 100,
    referrer: null,
    agent: null,
    source: "spool",
    ...over,
  };
}

describe("PartitionWindows", () => {
  const options = { windowMs: 60_000, latenessMs: 120_000, topK: 3 };

  it("assigns events to tumbling windows by event time and keeps them open through the lateness", () => {
    const w = new PartitionWindows(options);
    expect(w.add(event(T0 + 5_000), 0)).toBe(true);
    expect(w.add(event(T0 + 65_000, { status: 404, bytes: null }), 1)).toBe(true);
    // 150 s later: window T0 ends at T0+60 s, closes at T0+180 s: still open.
    expect(w.add(event(T0 + 150_000), 2)).toBe(true);
    expect(w.add(event(T0 + 59_999, { status: 503 }), 3)).toBe(true);
    const { changed, closed } = w.drain();
    expect(closed).toEqual([]);
    const first = changed.find((s) => s.start === T0)!;
    expect(first.count).toBe(2);
    expect(first.status5xx).toBe(1);
    expect(first.firstOffset).toBe(0);
  });

  it("refuses late events once the watermark passes end + lateness, and closes the window", () => {
    const w = new PartitionWindows(options);
    w.add(event(T0 + 1_000), 10);
    w.add(event(T0 + 180_000), 11); // watermark reaches T0 window's end + lateness
    expect(w.add(event(T0 + 2_000), 12)).toBe(false);
    const { changed, closed } = w.drain();
    expect(closed.map((s) => s.start)).toEqual([T0]);
    expect(changed.find((s) => s.start === T0)!.count).toBe(1);
    // Only the open window bounds the resume offset now.
    expect(w.resumeOffset(13)).toBe(11);
  });

  it("produces deterministic points whose tag sets identify the window, so rewriting overwrites", () => {
    const w = new PartitionWindows(options);
    for (let i = 0; i < 5; i++) w.add(event(T0 + i, { path: `/p${i % 2}`, host: `h${i}` }), i);
    w.add(event(T0 + 9, { method: "POST", status: 404 }), 9);
    const [state] = w.drain().changed;
    const points = windowPoints(state!, 2, 60_000, 3);
    const requests = points.find((p) => p.measurement === "requests")!;
    expect(requests).toEqual({
      measurement: "requests",
      tags: { window: "60s", source: "spool", partition: "2" },
      time: T0,
      fields: { count: 6, bytes: 600, status_4xx: 1, status_5xx: 0, unique_hosts: 5 },
    });
    const byMethod = points.filter((p) => p.measurement === "requests_by_method");
    expect(byMethod.map((p) => [p.tags.method, p.fields.count])).toEqual([
      ["GET", 5],
      ["POST", 1],
    ]);
    const top = points.filter((p) => p.measurement === "top_paths").map((p) => [p.tags.rank, p.fields.value]);
    expect(top).toEqual([
      ["1", "/p0"],
      ["2", "/p1"],
      ["3", "/"],
    ]);
    expect(windowPoints(state!, 2, 60_000, 3)).toEqual(points);
  });

  it("summarize merges partitions of one window", () => {
    const a = new PartitionWindows(options);
    const b = new PartitionWindows(options);
    a.add(event(T0, { host: "x" }), 0);
    b.add(event(T0 + 1, { host: "y", bytes: 5 }), 0);
    const s = summarize([...a.drain().changed, ...b.drain().changed], 60_000, 3, false);
    expect(s).toMatchObject({ start: T0, count: 2, bytes: 105, uniqueHosts: 2, byStatus: { "200": 2 } });
  });
});
