import { describe, expect, it } from "vitest";
import { LateCounts } from "../../../pipeline/aggregate/late.ts";
import { windowSpec, windowSpecs } from "../../../pipeline/aggregate/window-spec.ts";
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
  const options = { windows: [windowSpec(60_000)], latenessMs: 120_000, topK: 3 };

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
    const points = windowPoints(state!, 2, 3);
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
    expect(windowPoints(state!, 2, 3)).toEqual(points);
  });

  it("summarize merges partitions of one window", () => {
    const a = new PartitionWindows(options);
    const b = new PartitionWindows(options);
    a.add(event(T0, { host: "x" }), 0);
    b.add(event(T0 + 1, { host: "y", bytes: 5 }), 0);
    const s = summarize([...a.drain().changed, ...b.drain().changed], windowSpec(60_000), 3, false);
    expect(s).toMatchObject({ start: T0, count: 2, bytes: 105, uniqueHosts: 2, byStatus: { "200": 2 } });
  });

  it("keeps a watermark per source, so an older file under another source name is on time", () => {
    const w = new PartitionWindows(options);
    const late = new LateCounts(0);
    w.add(event(T0 + 86_400_000, { source: "sample" }), 0); // a day later
    expect(w.add(event(T0, { source: "replay" }), 1, late)).toBe(true);
    expect(w.add(event(T0 + 1, { source: "sample" }), 2, late)).toBe(false);
    expect(late.drain(3)).toEqual([
      {
        measurement: "late",
        tags: { window: "60s", source: "sample", partition: "0" },
        time: T0,
        fields: { count: 1, through: 3 },
      },
    ]);
    expect(w.drain().changed.map((s) => [s.source, s.start, s.count])).toEqual([
      ["sample", T0 + 86_400_000, 1],
      ["replay", T0, 1],
    ]);
  });

  it("puts an event in every hopping window that holds it, tagged 5m/1m", () => {
    const specs = windowSpecs({ window: 60_000, windows: [{ size: 60_000 }, { size: 300_000, slide: 60_000 }] });
    expect(specs.map((s) => s.label)).toEqual(["60s", "5m/1m"]);
    const w = new PartitionWindows({ windows: specs, latenessMs: 0, topK: 3 });
    w.add(event(T0 + 270_000), 0); // minute 4 of the hour
    const starts = w
      .drain()
      .changed.filter((s) => s.spec.label === "5m/1m")
      .map((s) => (s.start - T0) / 60_000)
      .sort((a, b) => a - b);
    expect(starts).toEqual([0, 1, 2, 3, 4]);
    expect(() => windowSpec(300_000, 70_000)).toThrow(/slide must divide/);
  });

  it("counts an event late only for its hopping windows that closed", () => {
    const spec = windowSpec(300_000, 60_000);
    const w = new PartitionWindows({ windows: [spec], latenessMs: 0, topK: 3 });
    const late = new LateCounts(1);
    w.add(event(T0 + 600_000), 0); // watermark T0+10m: windows ending at or before it are closed
    expect(w.add(event(T0 + 330_000), 1, late)).toBe(false); // windows 1..5 min, all ending ≤ 10 min
    expect(late.drain(2).map((p) => (p.time - T0) / 60_000)).toEqual([5, 4, 3, 2, 1]);
    // 7.5 min: windows 3..7; 3, 4 and 5 have closed, 6 and 7 are open and take it.
    expect(w.add(event(T0 + 450_000), 2, late)).toBe(false);
    expect(late.drain(3).map((p) => [(p.time - T0) / 60_000, p.fields.count])).toEqual([
      [5, 2],
      [4, 2],
      [3, 2],
    ]);
    // The first event (10 min) is in windows 6..10; the one at 7.5 min joined 6 and 7.
    const counts = w
      .drain()
      .changed.map((s) => [(s.start - T0) / 60_000, s.count])
      .sort((a, b) => a[0]! - b[0]!);
    expect(counts).toEqual([
      [6, 2],
      [7, 2],
      [8, 1],
      [9, 1],
      [10, 1],
    ]);
  });

  it("counts late events once across a restart: below the stored through or the checkpoint they were counted", () => {
    const late = new LateCounts(0);
    late.load([
      {
        measurement: "late",
        tags: { window: "60s", source: "s", partition: "0" },
        time: T0,
        fields: { count: 4, through: 100 },
      },
    ]);
    late.countFrom = 50;
    late.count("60s", "s", T0, 40); // before the checkpoint
    late.count("60s", "s", T0, 99); // written before, commit lost
    late.count("60s", "s", T0, 100);
    late.count("60s", "s", T0 + 60_000, 60);
    expect(late.drain(101).map((p) => [p.time - T0, p.fields.count])).toEqual([
      [0, 5],
      [60_000, 1],
    ]);
  });
});
