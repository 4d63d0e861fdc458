/**
 * Reading a time window of a Kafka topic with kafkajs, which has no assign(): a throwaway consumer
 * group (never commits) joins, seeks every partition to its start on GROUP_JOIN, and reads up to the
 * high watermark taken when the read began.
 *
 * Start offsets come from ListOffsets by timestamp (admin.fetchTopicOffsetsByTimestamp; KIP-79). A
 * broker answers "no message at or after that time" with -1, which kafkajs turns into the high
 * watermark. librdkafka's mock cluster answers -1 to EVERY timestamp query ("FIXME: by timestamp" in
 * rdkafka_mock_handlers.c). So when a partition with messages gets "none", the same question is
 * asked for timestamp 0: a broker that looks timestamps up must name an offset there, one that still
 * says "none" does not look them up, and that partition is scanned from its low watermark.
 */
import { randomUUID } from "node:crypto";
import type { Admin, Kafka } from "kafkajs";
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import type { BusMessage } from "../types.ts";
import type { KafkaBusConfig } from "./config.ts";
import { kafkaError, kafkaRetry } from "./errors.ts";
import { toBusMessage } from "./subscription.ts";

interface PartitionPlan {
  start: number;
  high: number;
  done: boolean;
}

/** Offset per partition for a timestamp; null when the broker says no message is at or after it. */
async function offsetsForTime(admin: Admin, topic: string, time: number, highs: Map<number, number>) {
  const answer = await admin.fetchTopicOffsetsByTimestamp(topic, time);
  const result = new Map<number, number | null>();
  for (const a of answer) {
    const offset = Number(a.offset);
    result.set(a.partition, offset < 0 || offset >= (highs.get(a.partition) ?? 0) ? null : offset);
  }
  return result;
}

export async function readKafkaWindow(
  kafka: Kafka,
  admin: Admin,
  config: KafkaBusConfig,
  ctx: Context,
  topic: string,
  window: { from: number; to: number; limit?: number },
): Promise<BusMessage[]> {
  const limit = window.limit ?? 1_000_000;
  if (window.to <= window.from || limit <= 0) return [];
  const plans = new Map<number, PartitionPlan>();
  try {
    const ranges = await admin.fetchTopicOffsets(topic);
    const highs = new Map(ranges.map((r) => [r.partition, Number(r.high)]));
    const starts = await offsetsForTime(admin, topic, window.from, highs);
    const suspicious = ranges.filter((r) => Number(r.high) > Number(r.low) && starts.get(r.partition) == null);
    const fromZero = suspicious.length > 0 ? await offsetsForTime(admin, topic, 0, highs) : new Map();
    for (const r of ranges) {
      const low = Number(r.low);
      const high = Number(r.high);
      let start = starts.get(r.partition) ?? high;
      if (suspicious.includes(r) && fromZero.get(r.partition) == null) start = low;
      plans.set(r.partition, { start: Math.max(start, low), high, done: start >= high });
    }
  } catch (err) {
    throw kafkaError(`reading the offsets of ${topic} for a window`, err);
  }
  if ([...plans.values()].every((p) => p.done)) return [];

  const found: BusMessage[] = [];
  const consumer = kafka.consumer({
    groupId: `${config.clientId}.window.${randomUUID()}`,
    maxBytesPerPartition: config.maxBatchBytes,
    maxWaitTimeInMs: config.fetchMaxWait,
    sessionTimeout: config.sessionTimeout,
    allowAutoTopicCreation: false,
    retry: kafkaRetry(config.retries),
  });
  let finish!: (err?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => {
    finish = (err) => (err ? reject(err) : resolve());
  });
  // An abort or a stall can end the read while it is still connecting, before anything awaits `finished`; without
  // this, Node would take that rejection as unhandled and kill the process. It is still awaited (and thrown) below.
  finished.catch(() => {});
  const checkDone = () => {
    if (found.length >= limit || [...plans.values()].every((p) => p.done)) finish();
  };

  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    for (const partition of event.payload.memberAssignment[topic] ?? []) {
      const plan = plans.get(partition);
      if (plan && !plan.done) consumer.seek({ topic, partition, offset: String(plan.start) });
    }
  });
  consumer.on(consumer.events.CRASH, (event) => {
    if (!event.payload.restart) finish(kafkaError(`reading a window of ${topic}`, event.payload.error));
  });

  // A stall (broker gone, partition without leader) ends the read; a long window that progresses does not.
  const stallMs = Math.max(config.requestTimeout, 10_000) * 2;
  let timeout: NodeJS.Timeout | undefined;
  const armStallTimer = () => {
    clearTimeout(timeout);
    timeout = setTimeout(
      () => finish(new LogbenchError("TIMEOUT", `reading a window of ${topic}: no message for ${stallMs} ms`)),
      stallMs,
    );
  };
  armStallTimer();
  const onAbort = () => finish(new LogbenchError("UNAVAILABLE", `reading a window of ${topic}: aborted`));
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  if (ctx.signal.aborted) onAbort();

  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: config.concurrency,
      eachBatch: async ({ batch, isStale }) => {
        armStallTimer();
        const plan = plans.get(batch.partition);
        if (!plan || plan.done || isStale()) return;
        for (const m of batch.messages) {
          const message = toBusMessage(batch.partition, m);
          if (message.offset >= plan.high) break;
          if (message.timestamp >= window.from && message.timestamp < window.to && found.length < limit) {
            found.push(message);
          }
        }
        const last = Number(batch.lastOffset());
        if (last >= plan.high - 1) {
          plan.done = true;
          consumer.pause([{ topic, partitions: [batch.partition] }]);
        }
        checkDone();
      },
    });
    await finished;
  } catch (err) {
    throw kafkaError(`reading a window of ${topic}`, err);
  } finally {
    clearTimeout(timeout);
    ctx.signal.removeEventListener("abort", onAbort);
    await consumer.disconnect().catch(() => {});
  }
  return found.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
}
