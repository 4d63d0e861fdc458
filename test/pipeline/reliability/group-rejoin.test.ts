/**
 * A member that cannot get back into its group at the first try (issue 11 §3, the scale-out stall).
 *
 * On the librdkafka mock, a follower whose SyncGroup arrives after the leader's finds the group already Up and is
 * answered INVALID_REQUEST; kafkajs gives up on that, and the subscription answers with a new consumer. Under load
 * that new consumer can lose the same race again. The scale-out test's survivor lost it twice in a row: the crash of
 * the consumer that the restart had just started was ignored ("a restart is under way"), nothing restarted it
 * again, and that group never consumed again while /healthz said ok.
 *
 * Here the refusals are injected on a private mock cluster (its own test hooks: the next two SyncGroup requests
 * answered INVALID_REQUEST) after one forced rejoin, so both the first consumer and the one that replaces it are
 * refused. Every message produced before and after must still be delivered, and the subscription must not end.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKafkaBus } from "../../../connectors/kafka/bus.ts";
import { kafkaBusSchema } from "../../../connectors/kafka/config.ts";
import type { Bus, BusMessage, Subscription } from "../../../connectors/types.ts";
import { waitFor } from "../../contracts/bus.ts";
import { type KafkaMock, startKafkaMock } from "../../servers/kafka/mock-cluster.ts";
import { recordingContext } from "./recording-context.ts";

const text = (m: BusMessage) => new TextDecoder().decode(m.value);
const records = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `host-${i % 7}`, value: `${prefix}-${i}` }));

describe("a member refused on rejoin, then refused again on its restart", () => {
  let mock: KafkaMock;
  let bus: Bus | null = null;
  beforeAll(async () => {
    mock = await startKafkaMock({ brokers: 3 });
  });
  afterAll(async () => {
    await bus?.close().catch(() => {});
    await mock?.close();
  });

  it("keeps restarting until it is back in the group, and delivers every message", async () => {
    const topic = "rejoin";
    const group = `g-${topic}`;
    await mock.command(`topic ${topic} 3`);
    const { logs, metrics, ctx } = recordingContext();
    bus = createKafkaBus(
      kafkaBusSchema.parse({
        type: "kafka",
        brokers: mock.bootstrap,
        sessionTimeout: "6s",
        connectionTimeout: "1s",
        requestTimeout: "5s",
      }),
      ctx,
    );
    const values = new Set<string>();
    let ended: unknown = null;
    let sub: Subscription | null = null;
    sub = await bus.subscribe({
      topic,
      group,
      onBatch: async (partition, messages) => {
        for (const m of messages) values.add(text(m));
        await sub!.commit(partition, messages.at(-1)!.offset + 1).catch(() => {});
      },
    });
    sub.done.catch((err: unknown) => {
      ended = err;
    });
    await bus.produce(topic, records("before", 20));
    await waitFor(() => values.size >= 20, "the first 20 messages", 60_000);

    // The next two SyncGroups are refused as the mock refuses a late follower; one refused heartbeat makes the
    // member rejoin, so its own SyncGroup takes the first refusal and its replacement's takes the second.
    await mock.command("error SyncGroup INVALID_REQUEST 2");
    await mock.command("error Heartbeat REBALANCE_IN_PROGRESS 1");
    await waitFor(
      () => metrics.get("logbench_bus_consumer_restarts_total", { group, topic }) >= 2,
      "a second consumer restart, after the first restart was refused too",
      60_000,
    );
    await bus.produce(topic, records("after", 20));
    // Each join on the mock waits out its rebalance delay (session timeout - 1 s), and the refused members stay in
    // the group until their sessions expire: several rebalances of ~5 s each.
    await waitFor(() => values.size >= 40 || ended !== null, "the 20 messages produced after the refusals", 120_000);
    expect(ended).toBeNull();
    expect([...values].sort()).toEqual([...records("before", 20), ...records("after", 20)].map((r) => r.value).sort());
    const restarts = logs.filter((l) => String(l.message).includes("starting a new consumer"));
    expect(restarts.length).toBeGreaterThanOrEqual(2);
    await sub.stop();
  }, 240_000);
});
