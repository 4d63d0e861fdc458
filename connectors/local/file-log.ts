/**
 * The Bus as a file-backed log on this machine (the embedded default). Several processes may use
 * one folder at once: `logbench replay` produces while the daemon consumes and writes dead letters.
 *
 * - Topics are created on first use with `partitions` from the config, recorded in topic.json so a
 *   later process (with another config) sees the same count. Layout: topic-store.ts.
 * - Records are framed with length, CRC-32, timestamp and key (frame.ts); appends are serialized
 *   across processes by a lock file per partition and fsynced when `fsync` is on; the torn tail of a
 *   writer killed mid-write is cut by the next writer and never delivered (partition-log.ts).
 * - Offsets are byte positions: monotonic, not dense. Reading (or seeking, or resuming a commit)
 *   from X starts at the first record at or after X, so "last offset + 1" works as in Kafka.
 * - A key picks its partition with Kafka's murmur2 (partitioner.ts); records without a key rotate.
 * - Consumer groups: commits are files replaced atomically; a group has one active member that
 *   gets every partition, others wait as standbys (subscription.ts). Consumers poll for growth.
 * - No retention: the low watermark is always 0. Delete a topic's folder to drop it.
 */
import type { Context } from "../context.ts";
import { LogbenchError, wrapError } from "../errors.ts";
import { partitionForKey } from "../partitioner.ts";
import type { Bus, BusMessage, PartitionRange, Subscription } from "../types.ts";
import type { LocalBusConfig } from "./config.ts";
import { encodeFrames, type FrameRecord } from "./frame.ts";
import { subscribeLocal } from "./subscription.ts";
import { groupDir, openTopic, readCommits, type TopicFiles } from "./topic-store.ts";

const POLL_MS = 50;
const LOCK_STALE_MS = 30_000;
const LOCK_TIMEOUT_MS = 60_000;

export function createLocalBus(config: LocalBusConfig, ctx: Context): Bus {
  const topics = new Map<string, Promise<TopicFiles>>();
  const subscriptions = new Set<Subscription>();
  let roundRobin = 0;
  let closed = false;

  const topicFiles = (topic: string): Promise<TopicFiles> => {
    let files = topics.get(topic);
    if (!files) {
      files = openTopic(config.dir, topic, config.partitions, {
        fsync: config.fsync,
        lockStaleMs: LOCK_STALE_MS,
        lockTimeoutMs: LOCK_TIMEOUT_MS,
        logger: ctx.logger.child({ topic }),
        onTornTail: (bytes) => ctx.metrics.inc("bus_torn_tail_bytes_total", { bus: "local", topic }, bytes),
      }).catch((err) => {
        topics.delete(topic);
        throw err instanceof LogbenchError ? err : wrapError(`opening topic ${topic} in ${config.dir}`, err);
      });
      topics.set(topic, files);
    }
    return files;
  };
  const open = () => {
    if (closed) throw new LogbenchError("INTERNAL", "the local bus is closed");
  };

  return {
    kind: "local",
    offsetUnit: "bytes",

    async produce(topic, records) {
      open();
      if (records.length === 0) return;
      const files = await topicFiles(topic);
      const byPartition = new Map<number, FrameRecord[]>();
      const now = Date.now();
      for (const r of records) {
        const p = r.key === null ? roundRobin++ % files.partitions : partitionForKey(r.key, files.partitions);
        const list = byPartition.get(p) ?? [];
        byPartition.set(p, list);
        list.push({ key: r.key, value: r.value, timestamp: r.timestamp ?? now });
      }
      try {
        await Promise.all([...byPartition].map(([p, list]) => files.logs[p]!.append(encodeFrames(list))));
      } catch (err) {
        throw wrapError(`appending ${records.length} records to ${topic}`, err, "UNAVAILABLE");
      }
      ctx.metrics.inc("bus_produced_records_total", { bus: "local", topic }, records.length);
    },

    async subscribe(options) {
      open();
      const files = await topicFiles(options.topic);
      const dir = groupDir(files.dir, options.group);
      const sub = await subscribeLocal(
        files,
        options.group,
        dir,
        options,
        { pollMs: POLL_MS, fsync: config.fsync },
        ctx,
      );
      subscriptions.add(sub);
      sub.done.then(
        () => subscriptions.delete(sub),
        () => subscriptions.delete(sub),
      );
      return sub;
    },

    async partitions(topic): Promise<PartitionRange[]> {
      open();
      const files = await topicFiles(topic);
      return Promise.all(files.logs.map(async (log, partition) => ({ partition, low: 0, ...(await log.range()) })));
    },

    async committed(group, topic) {
      open();
      const files = await topicFiles(topic);
      return readCommits(groupDir(files.dir, group));
    },

    async readWindow(topic, window) {
      open();
      const limit = window.limit ?? 1_000_000;
      const files = await topicFiles(topic);
      const found: BusMessage[] = [];
      // No time index: every partition is walked up to its end when the read began.
      for (let partition = 0; partition < files.partitions && found.length < limit; partition++) {
        const log = files.logs[partition]!;
        const end = await log.high();
        const handle = await log.openRead();
        if (!handle) continue;
        try {
          let pos = 0;
          while (pos < end && found.length < limit) {
            const chunk = await log.read(handle, pos, 4 * 1024 * 1024, partition);
            for (const r of chunk.records) {
              if (r.offset >= end || found.length >= limit) break;
              if (r.timestamp >= window.from && r.timestamp < window.to) found.push(r);
            }
            if (chunk.next === pos) break;
            pos = chunk.next;
          }
        } finally {
          await handle.close();
        }
      }
      return found.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
    },

    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...subscriptions].map((s) => s.stop()));
      const opened = await Promise.allSettled(topics.values());
      await Promise.allSettled(
        opened.flatMap((t) => (t.status === "fulfilled" ? t.value.logs.map((log) => log.close()) : [])),
      );
    },
  };
}
