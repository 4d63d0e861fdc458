/**
 * The aggregate stage through a series store outage longer than aggregator.idleTimeout, driven through a fake bus
 * and a fake series store on fake timers (the influx-outage e2e's stall, made deterministic): one source sends
 * without a pause, the store fails for 60 s and then recovers, and the bus goes on delivering as the stage lets it.
 * A source that kept sending is not idle, so none of its windows may be closed early: every event sent must end up
 * counted in its window (compared with the events sent, per minute), none as late.
 *
 * With the pipelined flush (a batch goes on while the previous flush's write retries), the source's last-seen time
 * was the first batch after the snapshot whose write then retried for a minute: the first flush after the outage
 * took the source for idle, closed all its windows, and every event after that in those minutes was counted late.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import type { Bus, BusMessage, SeriesPoint, SeriesStore, SubscribeOptions } from "../../../connectors/types.ts";
import { AggregateStage } from "../../../pipeline/aggregate/stage.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { AUG, message } from "./stage-messages.ts";

const MINUTE = 60_000;

/** A store that keeps the last point written per (measurement, tags, time), as InfluxDB does, and can be down. */
function fakeStore() {
  const points = new Map<string, SeriesPoint>();
  const state = { down: false, failures: 0 };
  const series: SeriesStore = {
    kind: "fake",
    write: async (batch) => {
      if (state.down) {
        state.failures++;
        throw new LogbenchError("UNAVAILABLE", "the fake series store is down");
      }
      for (const p of batch) {
        const tags = Object.entries(p.tags)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k}=${v}`)
          .join(",");
        points.set(`${p.measurement}|${tags}|${p.time}`, p);
      }
    },
    query: async () => [],
    measurements: async () => [],
    close: async () => {},
  };
  /** Sum of a count field per point time, over one measurement. */
  const sums = (measurement: string) => {
    const out = new Map<number, number>();
    for (const p of points.values())
      if (p.measurement === measurement) out.set(p.time, (out.get(p.time) ?? 0) + Number(p.fields.count));
    return out;
  };
  return { series, state, sums };
}

function fakeBus() {
  let options: SubscribeOptions | null = null;
  /** What the bus holds: partition 0's high watermark (its messages are offsets 0 … high - 1). */
  const log = { high: 0, down: false };
  const bus = {
    kind: "fake",
    offsetUnit: "messages",
    partitions: async () => {
      if (log.down) throw new LogbenchError("UNAVAILABLE", "the fake bus cannot say its offsets");
      return [{ partition: 0, low: 0, high: log.high }];
    },
    subscribe: async (o: SubscribeOptions) => {
      options = o;
      return {
        commit: async () => {},
        seek: () => {},
        assigned: () => [0],
        stop: async () => {},
        done: new Promise<void>(() => {}),
      };
    },
  } as unknown as Bus;
  /** Deliver batches as a bus does: the next one only once the stage's handler for the one before resolved. */
  const deliver = async (batches: BusMessage[][]) => {
    for (const b of batches) await options!.onBatch(0, b);
  };
  return { bus, deliver, log };
}

/** A started stage on the fake bus and store, with `flushInterval`; fake timers are on. */
async function startStage(flushInterval: string) {
  vi.useFakeTimers();
  const store = fakeStore();
  const fake = fakeBus();
  const config = parseConfig({ aggregator: { flushInterval, lateness: "5m" } }).aggregator;
  const stage = new AggregateStage({
    bus: fake.bus,
    series: store.series,
    topic: "weblogs",
    config,
    ctx: silentContext(),
    onFatal: () => {},
  });
  await stage.start();
  // 12,000 events, in event time order over minutes 0 and 1 (every 10 ms of event time), in batches of 500.
  const all = Array.from({ length: 12_000 }, (_, i) => message(i, AUG + i * 10));
  const batches = Array.from({ length: all.length / 500 }, (_, i) => all.slice(i * 500, (i + 1) * 500));
  fake.log.high = all.length; // all of them are on the bus already
  return { ...store, ...fake, config, stage, all, batches };
}

afterEach(() => {
  vi.useRealTimers();
});

describe("AggregateStage through a series store outage", () => {
  it("closes no window of a source that kept sending: every event counted in its minute, none late", async () => {
    const { state, sums, deliver, config, stage, all, batches } = await startStage("1s");
    // idleTimeout stays its default of 30 s: the outage below is twice that.
    expect(config.idleTimeout).toBeLessThan(60_000);
    const expected = new Map<number, number>();
    for (const m of all) {
      const start = Math.floor(m.timestamp / MINUTE) * MINUTE;
      expected.set(start, (expected.get(start) ?? 0) + 1);
    }

    // Before the outage: two batches, written by a flush.
    await deliver(batches.slice(0, 2));
    await vi.advanceTimersByTimeAsync(config.flushInterval);
    expect(sums("requests").get(AUG)).toBe(1_000);

    // The store goes down for 60 s. The bus offers the next 14 batches (7,000 events) meanwhile, without a pause.
    state.down = true;
    await deliver(batches.slice(2, 3));
    await vi.advanceTimersByTimeAsync(config.flushInterval); // this flush's write fails and is retried
    expect(state.failures).toBeGreaterThan(0);
    const during = deliver(batches.slice(3, 16)); // held back by the stage as it pleases
    await vi.advanceTimersByTimeAsync(60_000);
    state.down = false;
    // Retries are at most 30 s apart: after that the write went through and the held batches were taken.
    await vi.advanceTimersByTimeAsync(31_000);
    await during;

    // The source goes on sending right after the outage, within a flush interval and well within idleTimeout.
    await vi.advanceTimersByTimeAsync(config.flushInterval);
    await deliver(batches.slice(16, 20));
    await vi.advanceTimersByTimeAsync(config.flushInterval);
    await deliver(batches.slice(20));
    await vi.advanceTimersByTimeAsync(3 * config.flushInterval);

    expect(sums("late"), "events counted late").toEqual(new Map());
    expect(sums("requests"), "events per minute in the store vs the events sent").toEqual(expected);
    await stage.stop();
  });

  it("closes no window of a source while its partition has unread messages (a consumer behind, not a quiet source)", async () => {
    const { sums, deliver, config, stage, all, batches } = await startStage("1s");
    await deliver(batches.slice(0, 2));
    await vi.advanceTimersByTimeAsync(config.flushInterval);
    // The consumer gets nothing for three idleTimeouts (a rejoin, a slow disk) while 11,000 events wait on the bus.
    await vi.advanceTimersByTimeAsync(3 * config.idleTimeout);
    await deliver(batches.slice(2));
    await vi.advanceTimersByTimeAsync(3 * config.flushInterval);
    expect(sums("late"), "events counted late").toEqual(new Map());
    const total = [...sums("requests").values()].reduce((a, b) => a + b, 0);
    expect(total, "events in their windows").toBe(all.length);
    await stage.stop();
  });

  it.each([
    ["once its partition has nothing left unread", false],
    ["by the wall clock alone when the bus cannot say its offsets", true],
  ])("closes the windows of a quiet source %s", async (_, down) => {
    const { sums, deliver, config, stage, all, batches, log } = await startStage("1s");
    log.down = down;
    await deliver(batches);
    await vi.advanceTimersByTimeAsync(config.idleTimeout + 3 * config.flushInterval);
    // The source sends again, an event of minute 0 (well within the 5 m lateness): its windows were closed, so late.
    log.high = all.length + 1;
    await deliver([[message(all.length, AUG + 5)]]);
    await vi.advanceTimersByTimeAsync(3 * config.flushInterval);
    expect(
      [...sums("late").values()].reduce((a, b) => a + b, 0),
      "events counted late",
    ).toBe(1);
    await stage.stop();
  });

  it("writes once 5,000 events are held, without waiting for the flush tick (bounded memory when catching up)", async () => {
    // A long flush interval: a reader catching up reads far more than 5,000 events before a tick.
    const { sums, deliver, stage, batches } = await startStage("1h");
    // No timer moves: only the number of events held can start a write. The first starts with the 11th batch (5,000
    // events held), the second with the 21st (5,000 more); the last 2,000 wait for the next one.
    await deliver(batches);
    const total = [...sums("requests").values()].reduce((a, b) => a + b, 0);
    expect(total, "events in the store before any flush tick").toBe(10_000);
    await stage.stop();
  });
});
