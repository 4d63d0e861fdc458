/**
 * The Bus on Apache Kafka through kafkajs 2 (https://kafka.js.org/docs/getting-started; wire protocol:
 * https://kafka.apache.org/protocol). Only APIs that librdkafka's mock cluster also answers are used:
 * no admin.createTopics/deleteTopics/describeConfigs, no idempotent producer, no describeGroups or
 * listGroups (DESIGN §7). Topics are created by operators (or the test cluster).
 */
import {
  type Admin,
  type ICustomPartitioner,
  Kafka,
  type logCreator,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
} from "kafkajs";
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { partitionForKey } from "../partitioner.ts";
import { secretFrom } from "../secrets.ts";
import type { Bus, PartitionRange, ProduceRecord, Subscription } from "../types.ts";
import type { KafkaBusConfig } from "./config.ts";
import { kafkaError, kafkaRetry } from "./errors.ts";
import { fetchCommitted, subscribeKafka } from "./subscription.ts";
import { readKafkaWindow } from "./window.ts";

/** Records per produce request are capped so one request stays under the broker's default message.max.bytes. */
const MAX_REQUEST_BYTES = 900_000;

/**
 * kafkajs logs into ctx.logger, at warn at most: its errors are retried or surface as our errors. Its info lines
 * (joins, leaves, restarts of the group membership) go to debug: rare, and what explains a rebalance afterwards.
 */
function kafkaLogCreator(ctx: Context): logCreator {
  return () =>
    ({ namespace, level, log }) => {
      if (level > logLevel.INFO) return;
      const { message, error, groupId, memberId } = log as {
        message: string;
        error?: unknown;
        groupId?: string;
        memberId?: string;
      };
      const fields = {
        namespace,
        ...(groupId ? { groupId, memberId } : {}),
        ...(error ? { error: String(error) } : {}),
      };
      if (level === logLevel.INFO) ctx.logger.debug(`Kafka client: ${message}`, fields);
      else ctx.logger.warn(`Kafka client: ${message}`, fields);
    };
}

function saslOptions(config: KafkaBusConfig): SASLOptions | undefined {
  const sasl = config.sasl;
  if (!sasl) return undefined;
  const password = secretFrom(sasl.password, sasl.passwordFile, "bus.sasl.passwordFile");
  if (password === undefined) throw new LogbenchError("CONFIG", "bus.sasl: set password or passwordFile");
  return { mechanism: sasl.mechanism, username: sasl.username, password } as SASLOptions;
}

function toBuffer(value: Uint8Array | string): Buffer {
  return typeof value === "string"
    ? Buffer.from(value, "utf8")
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * kafkajs' DefaultPartitioner (murmur2 of the key modulo the partition count, as Java's), computed by
 * partitionForKey: kafkajs hashes each message with 64-bit Long arithmetic. Keyless messages and explicit partitions
 * go to kafkajs' own.
 */
export const murmur2Partitioner: ICustomPartitioner = () => {
  const kafkajs = Partitioners.DefaultPartitioner();
  return (args) => {
    const { key, partition } = args.message;
    if ((partition === undefined || partition === null) && typeof key === "string" && args.partitionMetadata.length > 0)
      return partitionForKey(key, args.partitionMetadata.length);
    return kafkajs(args);
  };
};

/** Split records into requests of at most MAX_REQUEST_BYTES (a single bigger record goes alone). */
function chunks(records: ProduceRecord[]): ProduceRecord[][] {
  const out: ProduceRecord[][] = [];
  let current: ProduceRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size =
      (typeof r.value === "string" ? Buffer.byteLength(r.value) : r.value.byteLength) + (r.key?.length ?? 0) + 32;
    if (current.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * A Bus on Kafka. Keys are partitioned as kafkajs' DefaultPartitioner does (murmur2, the Java client's
 * algorithm), so a key lands where Java and librdkafka's murmur2 producers put it. Offsets are Kafka's.
 */
export function createKafkaBus(config: KafkaBusConfig, ctx: Context): Bus {
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    sasl: saslOptions(config),
    connectionTimeout: config.connectionTimeout,
    requestTimeout: config.requestTimeout,
    retry: kafkaRetry(config.retries),
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(ctx),
  });
  const subscriptions = new Set<Subscription>();
  let producer: Promise<Producer> | null = null;
  let admin: Promise<Admin> | null = null;
  let closed = false;

  const connected = <T extends { connect(): Promise<void> }>(make: () => T, what: string) => {
    const client = make();
    return client.connect().then(
      () => client,
      (err) => {
        throw kafkaError(`connecting the Kafka ${what}`, err);
      },
    );
  };
  const getProducer = () => {
    // A failed connect is not cached: the next produce tries again.
    producer ??= connected(
      () =>
        kafka.producer({
          createPartitioner: murmur2Partitioner,
          idempotent: false,
          allowAutoTopicCreation: config.allowAutoTopicCreation,
          retry: kafkaRetry(config.retries),
        }),
      "producer",
    ).catch((err) => {
      producer = null;
      throw err;
    });
    return producer;
  };
  const getAdmin = () => {
    admin ??= connected(() => kafka.admin({ retry: kafkaRetry(config.retries) }), "admin client").catch((err) => {
      admin = null;
      throw err;
    });
    return admin;
  };
  const open = () => {
    if (closed) throw new LogbenchError("INTERNAL", "the Kafka bus is closed");
  };

  return {
    kind: "kafka",
    offsetUnit: "messages",

    async produce(topic, records) {
      open();
      if (records.length === 0) return;
      const client = await getProducer();
      const now = Date.now();
      for (const chunk of chunks(records)) {
        try {
          await client.send({
            topic,
            acks: -1,
            timeout: config.requestTimeout,
            messages: chunk.map((r) => ({
              key: r.key,
              value: toBuffer(r.value),
              timestamp: String(r.timestamp ?? now),
            })),
          });
        } catch (err) {
          throw kafkaError(`producing ${chunk.length} records to ${topic}`, err);
        }
        ctx.metrics.inc("bus_produced_records_total", { bus: "kafka", topic }, chunk.length);
      }
    },

    async subscribe(options) {
      open();
      let subscription: Subscription | null = null;
      subscription = await subscribeKafka(kafka, getAdmin, config, ctx, options, () => {
        if (subscription) subscriptions.delete(subscription);
      });
      subscriptions.add(subscription);
      return subscription;
    },

    async partitions(topic): Promise<PartitionRange[]> {
      open();
      try {
        const offsets = await (await getAdmin()).fetchTopicOffsets(topic);
        return offsets
          .map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }))
          .sort((a, b) => a.partition - b.partition);
      } catch (err) {
        throw kafkaError(`reading the offsets of ${topic}`, err);
      }
    },

    async committed(group, topic) {
      open();
      try {
        return await fetchCommitted(await getAdmin(), group, topic);
      } catch (err) {
        throw kafkaError(`reading the commits of group ${group} on ${topic}`, err);
      }
    },

    async readWindow(topic, window) {
      open();
      return readKafkaWindow(kafka, await getAdmin(), config, ctx, topic, window);
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.stop()));
      const clients = await Promise.allSettled([producer, admin]);
      await Promise.allSettled(
        clients.map((c) => (c.status === "fulfilled" && c.value ? c.value.disconnect() : undefined)),
      );
    },
  };
}
