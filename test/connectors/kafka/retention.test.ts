/**
 * Loss to retention on a private librdkafka mock cluster, which keeps only about 5 MB per partition: offsets a
 * group has not read are deleted, and the subscription must report exactly those through onLost and go on at the
 * earliest offset still kept.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createKafkaBus } from "../../../connectors/kafka/bus.ts";
import { kafkaBusSchema } from "../../../connectors/kafka/config.ts";
import type { Bus, BusMessage } from "../../../connectors/types.ts";
import { waitFor } from "../../contracts/bus.ts";
import { type KafkaMock, startKafkaMock } from "../../servers/kafka/mock-cluster.ts";

/** 1 KiB values: 7,000 of them are well past the mock's ~5 MB per partition. */
const PAD = "x".repeat(1000);
const records = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: "one-key", value: `${prefix}-${i}-${PAD}` }));

interface Gap {
  partition: number;
  from: number;
  to: number;
}

describe("Kafka subscription: loss to retention", () => {
  let mock: KafkaMock;
  const buses: Bus[] = [];
  const makeBus = () => {
    const config = kafkaBusSchema.parse({
      type: "kafka",
      brokers: mock.bootstrap,
      sessionTimeout: "6s",
      connectionTimeout: "1s",
      requestTimeout: "5s",
    });
    const bus = createKafkaBus(config, silentContext());
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    mock = await startKafkaMock({ brokers: 1 });
  });
  afterAll(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    await mock?.close();
  });

  /** Produce `n` records in rounds, so no request is refused for its size. */
  async function produce(bus: Bus, topic: string, prefix: string, n: number) {
    for (let i = 0; i < n; i += 1000) await bus.produce(topic, records(`${prefix}${i}`, Math.min(1000, n - i)));
  }

  it("reports the offsets deleted while the group was stopped, and resumes at the low watermark", async () => {
    const topic = "retention-stopped";
    await mock.command(`topic ${topic} 1`);
    const bus = makeBus();
    const first: BusMessage[] = [];
    const sub1 = await bus.subscribe({
      topic,
      group: "g-stopped",
      onBatch: async (_p, m) => {
        first.push(...m);
      },
    });
    await produce(bus, topic, "a", 10);
    await waitFor(() => first.length >= 10, "the first 10 messages");
    await sub1.commit(0, 10);
    await sub1.stop();

    await produce(bus, topic, "b", 7000);
    const [range] = await bus.partitions(topic);
    expect(range!.high).toBe(7010);
    expect(range!.low).toBeGreaterThan(10); // retention deleted what the group had not read

    const gaps: Gap[] = [];
    const second: BusMessage[] = [];
    const sub2 = await bus.subscribe({
      topic,
      group: "g-stopped",
      onLost: async (partition, from, to) => {
        gaps.push({ partition, from, to });
      },
      onBatch: async (_p, m) => {
        second.push(...m);
      },
    });
    await waitFor(() => second.at(-1)?.offset === 7009, "the last offset", 30_000);
    await sub2.stop();
    const lost = gaps.reduce((n, g) => n + g.to - g.from, 0);
    // Contiguous, no offset twice, starting where the gap ends: nothing delivered was lost, nothing counted twice.
    const offsets = second.map((m) => m.offset);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(gaps[0]).toMatchObject({ partition: 0, from: 10 });
    expect(offsets[0]).toBe(gaps.at(-1)!.to);
    expect(offsets).toEqual(Array.from({ length: offsets.length }, (_, i) => offsets[0]! + i));
    expect(first.length + lost + second.length).toBe(7010);
  });

  it("reports the offsets the client skips when retention deletes them under a slow consumer", async () => {
    const topic = "retention-lagging";
    await mock.command(`topic ${topic} 1`);
    const bus = makeBus();
    const got: BusMessage[] = [];
    const gaps: Gap[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const sub = await bus.subscribe({
      topic,
      group: "g-lagging",
      onLost: async (partition, from, to) => {
        gaps.push({ partition, from, to });
      },
      onBatch: async (_p, m) => {
        got.push(...m);
        await gate; // the first batch holds the partition while retention deletes what follows it
      },
    });
    await produce(bus, topic, "a", 5);
    await waitFor(() => got.length >= 1, "a first batch");
    const held = got.length;
    await produce(bus, topic, "b", 7000);
    const [range] = await bus.partitions(topic);
    expect(range!.low).toBeGreaterThan(held);
    release();
    await waitFor(() => got.at(-1)?.offset === 7004, "the last offset", 30_000);
    await sub.stop();
    const lost = gaps.reduce((n, g) => n + g.to - g.from, 0);
    expect(gaps.length).toBeGreaterThan(0);
    expect(gaps[0]).toMatchObject({ partition: 0, from: held });
    const offsets = got.map((m) => m.offset);
    expect(new Set(offsets).size).toBe(offsets.length);
    expect(got.length + lost).toBe(7005);
  });
});
