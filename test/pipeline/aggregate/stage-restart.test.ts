/**
 * The aggregate stage after a restart, driven batch by batch through a fake bus and a fake series store, on fake
 * timers: while it re-reads offsets its checkpoint says were already written, a flush writes nothing and commits
 * nothing (the windows are partial; the soak's restarts re-read window + lateness of the bus every minute and wrote
 * every window at every flush meanwhile). Once past the checkpoint, one write carries every event sent.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import type { Bus, SeriesPoint, SeriesStore, SubscribeOptions } from "../../../connectors/types.ts";
import { AggregateStage, type Checkpoint, parseCheckpoint } from "../../../pipeline/aggregate/stage.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { AUG, message } from "./stage-messages.ts";

function fakes() {
  const writes: SeriesPoint[][] = [];
  const commits: Array<{ offset: number; checkpoint: Checkpoint | null }> = [];
  let options: SubscribeOptions | null = null;
  const series: SeriesStore = {
    kind: "fake",
    write: async (points) => void writes.push(points),
    query: async () => [],
    measurements: async () => [],
    close: async () => {},
  };
  const bus = {
    kind: "fake",
    offsetUnit: "messages",
    subscribe: async (o: SubscribeOptions) => {
      options = o;
      return {
        commit: async (_partition: number, offset: number, metadata?: string) =>
          void commits.push({ offset, checkpoint: parseCheckpoint(metadata ?? null) }),
        seek: () => {},
        assigned: () => [0],
        stop: async () => {},
        done: new Promise<void>(() => {}),
      };
    },
  } as unknown as Bus;
  return { writes, commits, series, bus, subscribed: () => options! };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("AggregateStage after a restart", () => {
  it("writes and commits nothing while it re-reads below its checkpoint, then all the events sent at once", async () => {
    vi.useFakeTimers();
    const { writes, commits, series, bus, subscribed } = fakes();
    const config = parseConfig({ aggregator: { flushInterval: "1s", lateness: "5m" } }).aggregator;
    const stage = new AggregateStage({
      bus,
      series,
      topic: "weblogs",
      config,
      ctx: silentContext(),
      onFatal: () => {},
    });
    await stage.start();
    const sub = subscribed();
    // The run before wrote offsets 0..9 (all in minute 0, still open) and committed the window's first offset.
    const all = Array.from({ length: 12 }, (_, i) => message(i, AUG + i * 1_000));
    const before: Checkpoint = { c: 10, w: AUG + 9_000, ws: { live: AUG + 9_000 } };
    await sub.onAssigned!([{ partition: 0, committed: { offset: 0, metadata: JSON.stringify(before) } }]);

    await sub.onBatch(0, all.slice(0, 5));
    await vi.advanceTimersByTimeAsync(config.flushInterval);
    // Batches and flushes share the partition's lock: this batch runs after the timed flush has finished.
    await sub.onBatch(0, all.slice(5, 10));
    expect(writes).toEqual([]);
    expect(commits).toEqual([]);

    await sub.onBatch(0, all.slice(10));
    await vi.advanceTimersByTimeAsync(config.flushInterval);
    await sub.onBatch(0, []);
    expect(writes).toHaveLength(1);
    const requests = writes[0]!.filter((p) => p.measurement === "requests");
    expect(requests.map((p) => [p.time, p.fields.count])).toEqual([[AUG, all.length]]);
    expect(commits).toEqual([{ offset: 0, checkpoint: { c: 12, w: AUG + 11_000, ws: { live: AUG + 11_000 } } }]);
    await stage.stop();
  });
});
