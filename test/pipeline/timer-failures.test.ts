/**
 * A write that fails for good from a timer (an idle-partition roll, a periodic window flush) must stop the
 * daemon through onFatal once, not be logged on every tick while the stage carries on.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../connectors/context.ts";
import { LogbenchError } from "../../connectors/errors.ts";
import { createLocalArchive } from "../../connectors/local/archive-dir.ts";
import { createLocalBus } from "../../connectors/local/file-log.ts";
import type { ArchiveStore, Bus, SeriesStore } from "../../connectors/types.ts";
import { AggregateStage } from "../../pipeline/aggregate/stage.ts";
import { ArchiveStage } from "../../pipeline/archive/stage.ts";
import { parseConfig } from "../../pipeline/config/load.ts";

const config = parseConfig({
  archiver: { roll: { idle: "200ms", interval: "1m" } },
  aggregator: { flushInterval: "100ms" },
});

async function busWithEvents(dir: string): Promise<Bus> {
  const bus = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 1, fsync: false }, silentContext());
  const event = { ts: Date.UTC(1995, 6, 1), host: "h", ident: null, user: null, method: "GET", path: "/" };
  await bus.produce("weblogs", [
    {
      key: "h",
      value: JSON.stringify({
        ...event,
        protocol: null,
        status: 200,
        bytes: 1,
        referrer: null,
        agent: null,
        source: "t",
      }),
    },
  ]);
  return bus;
}

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
    const bus = await busWithEvents(dir);
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
    await fatal.called;
    const attempts = creates;
    await new Promise((r) => setTimeout(r, 700)); // several more idle ticks
    expect(creates).toBe(attempts);
    expect(fatal.errors).toHaveLength(1);
    expect(String(fatal.errors[0])).toContain("Permission denied");
    expect((fatal.errors[0] as LogbenchError).code).toBe("PERMISSION");
    await stage.stop().catch(() => {});
    await bus.close();
  });

  it("aggregate: a flush refused for good calls onFatal once and stops trying", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-fatal-"));
    const bus = await busWithEvents(dir);
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
    await fatal.called;
    const attempts = writes;
    await new Promise((r) => setTimeout(r, 500)); // five more flush intervals
    expect(writes).toBe(attempts);
    expect(fatal.errors).toHaveLength(1);
    expect((fatal.errors[0] as LogbenchError).code).toBe("BAD_REQUEST");
    await stage.stop().catch(() => {});
    await bus.close();
  });
});
