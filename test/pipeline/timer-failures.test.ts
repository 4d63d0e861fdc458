/**
 * A write that fails for good from a timer (an idle-partition roll, a periodic window flush) must stop the
 * daemon through onFatal once, not be logged on every tick while the stage carries on.
 *
 * The stages' timers (setInterval) and clock (Date) are fake, so the ticks after the failure are counted
 * exactly; the bus and the stores run for real. A record produced after those ticks is a barrier: its batch
 * waits for the partition's lock behind every roll or flush a tick queued, so once it is handled nothing a
 * tick started can still write.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentContext } from "../../connectors/context.ts";
import { LogbenchError } from "../../connectors/errors.ts";
import { createLocalArchive } from "../../connectors/local/archive-dir.ts";
import { createLocalBus } from "../../connectors/local/file-log.ts";
import type { ArchiveStore, Bus, BusMessage, SeriesStore, SubscribeOptions } from "../../connectors/types.ts";
import { AggregateStage } from "../../pipeline/aggregate/stage.ts";
import { ArchiveStage } from "../../pipeline/archive/stage.ts";
import { parseConfig } from "../../pipeline/config/load.ts";

const config = parseConfig({
  archiver: { roll: { idle: "200ms", interval: "1m" } },
  aggregator: { flushInterval: "100ms" },
});

/** One event a second after 1995-07-01T00:00Z, as the stages read it. */
function eventRecord(second: number) {
  const event = { ts: Date.UTC(1995, 6, 1) + second * 1000, host: "h", ident: null, user: null, method: "GET" };
  return {
    key: "h",
    value: JSON.stringify({
      ...event,
      path: "/",
      protocol: null,
      status: 200,
      bytes: 1,
      referrer: null,
      agent: null,
      source: "t",
    }),
  };
}

/**
 * A one-partition local bus holding one event, and `handled(n)`: resolves once the stage's onBatch has
 * finished for n batches.
 */
async function busWithEvents(dir: string) {
  const real = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 1, fsync: false }, silentContext());
  await real.produce("weblogs", [eventRecord(0)]);
  let batches = 0;
  const waiting: Array<{ n: number; resolve: () => void }> = [];
  const bus: Bus = Object.assign(Object.create(real) as Bus, {
    subscribe: (options: SubscribeOptions) =>
      real.subscribe({
        ...options,
        onBatch: async (partition: number, messages: BusMessage[]) => {
          await options.onBatch(partition, messages);
          batches++;
          for (const w of waiting.filter((x) => x.n <= batches)) w.resolve();
        },
      }),
  });
  const handled = (n: number) =>
    new Promise<void>((resolve) => {
      if (batches >= n) resolve();
      else waiting.push({ n, resolve });
    });
  return { bus, real, handled };
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

function fatalRecorder() {
  const errors: unknown[] = [];
  let first!: () => void;
  const called = new Promise<void>((r) => {
    first = r;
  });
  const onFatal = (err: unknown) => {
    errors.push(err);
    first();
  };
  return { errors, called, onFatal };
}

describe("failures from timers", () => {
  it("archive: an idle roll refused for good calls onFatal once and stops trying", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-fatal-"));
    const { bus, real: realBus, handled } = await busWithEvents(dir);
    const real = createLocalArchive({ type: "local", dir: join(dir, "archive") }, silentContext());
    let creates = 0;
    // Everything as the real folder store does, except that writing is refused.
    const store: ArchiveStore = Object.assign(Object.create(real) as ArchiveStore, {
      create: async () => {
        creates++;
        throw new LogbenchError("PERMISSION", "Permission denied: user=logbench, access=WRITE");
      },
    });
    const fatal = fatalRecorder();
    const stage = new ArchiveStage({
      bus,
      store,
      topic: "weblogs",
      deadLetterTopic: "weblogs.dlq",
      config: config.archiver,
      scratchDir: join(dir, "tmp"),
      ctx: silentContext(),
      onFatal: fatal.onFatal,
    });
    await stage.start();
    await handled(1);
    await vi.advanceTimersByTimeAsync(300); // idle (200 ms) is over at the second tick (every 100 ms)
    await fatal.called;
    const attempts = creates;
    expect(attempts).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(700); // seven more ticks
    await realBus.produce("weblogs", [eventRecord(1)]);
    await handled(2);
    expect(creates).toBe(attempts);
    expect(fatal.errors).toHaveLength(1);
    expect(String(fatal.errors[0])).toContain("Permission denied");
    expect((fatal.errors[0] as LogbenchError).code).toBe("PERMISSION");
    await stage.stop().catch(() => {});
    await realBus.close();
  });

  it("aggregate: a flush refused for good calls onFatal once and stops trying", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-fatal-"));
    const { bus, real: realBus, handled } = await busWithEvents(dir);
    let writes = 0;
    const series: SeriesStore = {
      kind: "refusing",
      write: async () => {
        writes++;
        throw new LogbenchError("BAD_REQUEST", "partial write: field type conflict");
      },
      query: async () => [],
      measurements: async () => [],
      close: async () => {},
    };
    const fatal = fatalRecorder();
    const stage = new AggregateStage({
      bus,
      series,
      topic: "weblogs",
      config: config.aggregator,
      ctx: silentContext(),
      onFatal: fatal.onFatal,
    });
    await stage.start();
    await handled(1);
    await vi.advanceTimersByTimeAsync(200); // two flush intervals
    await fatal.called;
    const attempts = writes;
    expect(attempts).toBeGreaterThan(0);
    await vi.advanceTimersByTimeAsync(500); // five more flush intervals
    await realBus.produce("weblogs", [eventRecord(1)]);
    await handled(2);
    expect(writes).toBe(attempts);
    expect(fatal.errors).toHaveLength(1);
    expect((fatal.errors[0] as LogbenchError).code).toBe("BAD_REQUEST");
    await stage.stop().catch(() => {});
    await realBus.close();
  });
});
