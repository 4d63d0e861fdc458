/**
 * Broker faults on a private librdkafka mock cluster (the shared one must stay healthy for others).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { LogbenchError } from "../../../connectors/errors.ts";
import { createKafkaBus } from "../../../connectors/kafka/bus.ts";
import { kafkaBusSchema } from "../../../connectors/kafka/config.ts";
import type { Bus, BusMessage } from "../../../connectors/types.ts";
import { waitFor } from "../../contracts/bus.ts";
import { type KafkaMock, startKafkaMock } from "../../servers/kafka/mock-cluster.ts";

const text = (m: BusMessage) => new TextDecoder().decode(m.value);
const records = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `host-${i % 7}`, value: `${prefix}-${i}` }));

describe("Kafka bus under broker faults", () => {
  let mock: KafkaMock;
  const buses: Bus[] = [];
  const makeBus = (extra: Record<string, unknown> = {}) => {
    const config = kafkaBusSchema.parse({
      type: "kafka",
      brokers: mock.bootstrap,
      sessionTimeout: "6s",
      connectionTimeout: "1s",
      requestTimeout: "5s",
      ...extra,
    });
    const bus = createKafkaBus(config, silentContext());
    buses.push(bus);
    return bus;
  };

  beforeAll(async () => {
    mock = await startKafkaMock({ brokers: 3, topics: [{ name: "faults", partitions: 3 }] });
  });
  afterAll(async () => {
    await Promise.allSettled(buses.map((b) => b.close()));
    await mock?.close();
  });

  it("finishes a produce started while every broker is down once they come back", async () => {
    const bus = makeBus();
    await bus.produce("faults", records("warm", 3));
    await mock.command("down -1");
    const pending = bus.produce("faults", records("during", 30));
    let settled = false;
    pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    try {
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await mock.command("up -1");
    }
    expect(settled).toBe(false);
    await pending;
    const high = (await bus.partitions("faults")).reduce((n, p) => n + p.high - p.low, 0);
    expect(high).toBe(33);
  });

  it("fails with a retryable UNAVAILABLE error when brokers stay down past the retries, then works again", async () => {
    const bus = makeBus({ retries: 1 });
    await bus.produce("faults", records("warm", 1));
    await mock.command("down -1");
    let error: unknown = null;
    try {
      await bus.produce("faults", records("lost", 5));
    } catch (err) {
      error = err;
    } finally {
      await mock.command("up -1");
    }
    expect(error).toBeInstanceOf(LogbenchError);
    expect((error as LogbenchError).retryable).toBe(true);
    expect(["UNAVAILABLE", "TIMEOUT"]).toContain((error as LogbenchError).code);
    expect((error as LogbenchError).message).toMatch(/^producing 5 records to faults: /);
    await bus.produce("faults", records("again", 5));
  });

  it("retries NOT_LEADER answers and maps an authorization refusal to a non-retryable PERMISSION error", async () => {
    const bus = makeBus();
    await bus.produce("faults", records("warm", 1));
    await mock.command("error Produce NOT_LEADER_FOR_PARTITION 2");
    await bus.produce("faults", records("moved", 5));
    await mock.command("error Produce TOPIC_AUTHORIZATION_FAILED 1");
    const refused = await bus.produce("faults", [{ key: "host-1", value: "x" }]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LogbenchError);
    expect((refused as LogbenchError).code).toBe("PERMISSION");
    expect((refused as LogbenchError).retryable).toBe(false);
  });

  /**
   * Subscribe on a fresh topic, receive a first round, apply `fault`, produce a second round, and expect every
   * message of both rounds with the subscription still running.
   */
  async function consumeAcross(topic: string, fault: () => Promise<void>) {
    const bus = makeBus();
    const got: BusMessage[] = [];
    await mock.command(`topic ${topic} 3`);
    const sub = await bus.subscribe({
      topic,
      group: `survivor-${topic}`,
      onBatch: async (_p, m) => {
        got.push(...m);
      },
    });
    await bus.produce(topic, records("one", 20));
    await waitFor(() => got.length >= 20, "the first 20 messages");
    await fault();
    await bus.produce(topic, records("two", 20));
    await waitFor(() => new Set(got.map(text)).size >= 40, "all 40 distinct messages after the fault", 60_000);
    const settled = await Promise.race([
      sub.done.then(
        () => "ended",
        () => "failed",
      ),
      Promise.resolve("running"),
    ]);
    expect(settled).toBe("running");
    await sub.stop();
    expect(new Set(got.map(text))).toEqual(new Set([...records("one", 20), ...records("two", 20)].map((r) => r.value)));
  }

  it("keeps consuming through an outage of every broker", async () => {
    await consumeAcross("faults-outage", async () => {
      await mock.command("down -1");
      try {
        await new Promise((r) => setTimeout(r, 2_000));
      } finally {
        await mock.command("up -1");
      }
    });
  });
});
