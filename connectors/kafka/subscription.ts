/**
 * A Bus subscription on a kafkajs consumer group (https://kafka.js.org/docs/consuming).
 *
 * kafkajs has no rebalance callbacks, so they are rebuilt from its instrumentation events:
 * - GROUP_JOIN (emitted after JoinGroup + SyncGroup, before the first fetch of the generation): every
 *   partition of the previous generation is revoked, the new ones are announced with their commits.
 *   kafkajs rebuilds its fetch positions from the commits at each join, so a partition kept across a
 *   join restarts from its commit too: announcing it again is what tells the stage.
 * - REBALANCING / CRASH: the generation is over, everything assigned is revoked. kafkajs does not wait
 *   for our onRevoked before it rejoins (eager protocol), so onRevoked runs as the member rejoins;
 *   a commit made after that fails with CONFLICT because the generation is fenced.
 * Per-partition order and back-pressure come from kafkajs itself: a fetcher waits until every batch
 * it handed out is processed before it fetches again, and a partition belongs to one fetcher.
 *
 * Watchdog: kafkajs can keep fetching from a broker that no longer leads a partition, or wait on metadata it does
 * not refresh, for minutes after a leader move. When no batch arrived for `stallTimeout` while nothing is in
 * flight and an assigned partition has messages past the next offset to read, the consumer is replaced by a new
 * one (leave, rejoin, fresh metadata): logged, and counted in logbench_bus_consumer_restarts_total. Commits made
 * during the restart wait for the rejoin instead of being dropped by kafkajs. A crash kafkajs does not restart
 * from is answered the same way, a few times, before the subscription fails.
 *
 * Loss to retention: kafkajs resets an out-of-range position to the default offset with a WARN and nothing
 * else. So the subscription tracks the next offset it expects per partition (the commit, a seek, the batch
 * before) and reports offsets below the low watermark through onLost: on assignment (then it seeks to the low
 * watermark itself), and when a batch starts past the expected offset while that offset is no longer kept.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from "kafkajs";
import type { Context } from "../context.ts";
import { LogbenchError } from "../errors.ts";
import { SubscriptionLifecycle } from "../subscription-lifecycle.ts";
import type { BusMessage, CommittedOffset, SubscribeOptions, Subscription } from "../types.ts";
import type { KafkaBusConfig } from "./config.ts";
import { kafkaError, kafkaRetry } from "./errors.ts";

/**
 * Crashes kafkajs does not restart from, answered with a new consumer, in a row (without a join or a batch in
 * between) before the subscription fails. On the librdkafka mock a follower whose SyncGroup comes after the
 * leader's is refused (INVALID_REQUEST), and under load the same member can lose that race several times running.
 */
const MAX_CRASH_RESTARTS = 10;
/** Longest pause between two crash restarts in a row (they back off from 500 ms, doubling). */
const MAX_RESTART_BACKOFF_MS = 5_000;

export function toBusMessage(partition: number, m: KafkaMessage): BusMessage {
  return {
    partition,
    offset: Number(m.offset),
    key: m.key == null ? null : m.key.toString("utf8"),
    value: m.value == null ? new Uint8Array(0) : new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength),
    timestamp: Number(m.timestamp),
  };
}

/** Committed offsets of a group on one topic, through OffsetFetch to the group coordinator. */
export async function fetchCommitted(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, CommittedOffset>> {
  const answer = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const result = new Map<number, CommittedOffset>();
  for (const t of answer) {
    for (const p of t.partitions) {
      const offset = Number(p.offset);
      // Kafka answers -1 for "no commit"; an empty metadata string cannot be told from none.
      if (offset >= 0) result.set(p.partition, { offset, metadata: p.metadata ? p.metadata : null });
    }
  }
  return result;
}

export async function subscribeKafka(
  kafka: Kafka,
  admin: () => Promise<Admin>,
  config: KafkaBusConfig,
  ctx: Context,
  options: SubscribeOptions,
  onEnd: () => void,
): Promise<Subscription> {
  const { topic, group } = options;
  const log = ctx.logger.child({ topic, group });
  const newConsumer = (): Consumer =>
    kafka.consumer({
      groupId: group,
      sessionTimeout: config.sessionTimeout,
      heartbeatInterval: Math.max(500, Math.floor(config.sessionTimeout / 10)),
      maxBytesPerPartition: config.maxBatchBytes,
      maxWaitTimeInMs: config.fetchMaxWait,
      allowAutoTopicCreation: false,
      retry: kafkaRetry(config.retries),
    });
  // Replaced by a watchdog restart; events of a replaced consumer are ignored.
  let consumer: Consumer = newConsumer();

  let assigned: number[] = [];
  // Partitions whose onRevoked is pending: the stage may still commit them (the coordinator accepts
  // commits of the old generation until the rebalance completes).
  const revoking = new Set<number>();
  const lifecycle = new SubscriptionLifecycle(shutdown);
  const fail = (err: unknown) => lifecycle.fail(err);
  // Rebalance callbacks run one after the other, in event order; batches wait for the latest one.
  let callbacks: Promise<void> = Promise.resolve();
  const inFlight = new Set<Promise<unknown>>();
  /** Next offset each assigned partition should deliver, when known: a batch starting later skipped offsets. */
  const expected = new Map<number, number>();

  const lowWatermarks = async (): Promise<Map<number, number>> => {
    const offsets = await (await admin()).fetchTopicOffsets(topic);
    return new Map(offsets.map((o) => [o.partition, Number(o.low)]));
  };
  const reportLost = async (partition: number, from: number, to: number) => {
    if (options.onLost) await options.onLost(partition, from, to);
    else log.error("Offsets were deleted by retention before this group read them.", { partition, from, to });
  };
  /** After assignment: positions below the low watermark are lost; go on at the earliest offset kept. */
  const checkRetention = async (partitions: number[]) => {
    if (!partitions.some((p) => expected.has(p))) return;
    const low = await lowWatermarks();
    for (const partition of partitions) {
      const from = expected.get(partition);
      const to = low.get(partition);
      if (from === undefined || to === undefined || from >= to) continue;
      await reportLost(partition, from, to);
      consumer.seek({ topic, partition, offset: String(to) });
      expected.set(partition, to);
    }
  };
  /** A batch past the expected offset: a gap is a loss only when the skipped offsets are gone (below low). */
  const checkGap = async (partition: number, first: number) => {
    const want = expected.get(partition);
    if (want === undefined || first <= want) return;
    const low = (await lowWatermarks()).get(partition) ?? 0;
    if (want < low) await reportLost(partition, want, first);
  };

  // Stages call subscription.seek from onAssigned, so onAssigned must not run before subscribe returned.
  let returned!: () => void;
  const subscribeReturned = new Promise<void>((resolve) => {
    returned = resolve;
  });

  // Watchdog state: when a batch last started or ended (or the group was joined), and a restart under way.
  let lastProgress = Date.now();
  /** From a restart's start until a new consumer joined the group (or the subscription ended). */
  let restarting: { done: Promise<void>; joined: () => void } | null = null;
  /** Crashes kafkajs gave up on, answered with a new consumer since the last join or batch. */
  let crashRestarts = 0;
  /** Ends a crash restart's backoff early, when the subscription stops. */
  let wakeRestart: (() => void) | null = null;
  /** No second restart before the first one joined the group, or this long passed without a join. */
  let noRestartBefore = 0;
  let watchdog: NodeJS.Timeout | null = null;
  const restartLabels = { group, topic };
  ctx.metrics.describe(
    "logbench_bus_consumer_restarts_total",
    "counter",
    "Kafka consumers restarted by the watchdog: no fetch progress while partitions had messages to read",
  );
  /** Assigned partitions with messages past the next offset to read, or null when the brokers cannot say. */
  const lagging = async (): Promise<number[] | null> => {
    let offsets: Awaited<ReturnType<Admin["fetchTopicOffsets"]>>;
    try {
      offsets = await (await admin()).fetchTopicOffsets(topic);
    } catch {
      return null; // brokers unreachable: kafkajs's own retries and crash-restart handle an outage
    }
    const out: number[] = [];
    for (const o of offsets) {
      if (!assigned.includes(o.partition)) continue;
      const next = expected.get(o.partition) ?? Number(o.low);
      if (Number(o.high) > next) out.push(o.partition);
    }
    return out;
  };
  const checkStall = async () => {
    // A restart that ended without a join does not block the watchdog for ever: noRestartBefore bounds it.
    if (lifecycle.state !== "running" || restartRun || assigned.length === 0 || inFlight.size > 0) return;
    if (Date.now() < noRestartBefore) return;
    const idleFor = Date.now() - lastProgress;
    if (idleFor < config.stallTimeout) return;
    const behind = await lagging();
    if (!behind || behind.length === 0 || Date.now() - lastProgress < config.stallTimeout || inFlight.size > 0) return;
    if (lifecycle.state !== "running" || restartRun) return;
    log.warn("No fetch progress while partitions have messages to read; restarting the Kafka consumer.", {
      idleMs: idleFor,
      partitions: behind,
    });
    await restartConsumer();
  };
  /**
   * Replace the kafkajs consumer by a new one that joins the group again (watchdog, or a crash kafkajs gave up on).
   * A request for a restart while one is under way is not dropped: the consumer that restart started may itself
   * crash before it joined (the survivor of the scale-out test lost its group that way), so the loop replaces it
   * again until a replacement ran without a new request.
   */
  let restartRun: Promise<void> | null = null;
  let restartWanted = false;
  const restartConsumer = (): Promise<void> => {
    restartWanted = true;
    restartRun ??= (async () => {
      try {
        while (restartWanted && lifecycle.active) {
          restartWanted = false;
          await replaceConsumer();
        }
      } finally {
        restartRun = null;
      }
    })();
    return restartRun;
  };
  const backoff = async () => {
    if (crashRestarts < 2) return;
    const ms = Math.min(MAX_RESTART_BACKOFF_MS, 500 * 2 ** (crashRestarts - 2));
    await new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wakeRestart = () => {
        clearTimeout(timer);
        r();
      };
    });
    wakeRestart = null;
  };
  const replaceConsumer = async () => {
    if (!restarting) {
      let joined!: () => void;
      restarting = { done: new Promise<void>((r) => (joined = r)), joined };
    }
    ctx.metrics.inc("logbench_bus_consumer_restarts_total", restartLabels);
    noRestartBefore = Date.now() + Math.max(config.stallTimeout, 3 * config.sessionTimeout);
    // A new kafkajs consumer, not stop() and run() on the old one: its runner may be inside its own
    // crash-restart, and a run() then finds it "already running". The stage may still commit what it
    // rolls on revoke: commit() waits for the new member to join.
    revokeAll(true);
    const old = consumer;
    consumer = newConsumer();
    listen(consumer);
    try {
      await old.disconnect().catch((err: unknown) => log.warn("Leaving the stalled consumer failed", { error: err }));
      await backoff();
      if (!lifecycle.active) return;
      await start(consumer);
      // A stop that came while the new consumer was starting must not leave it in the group.
      if (!lifecycle.active) await consumer.disconnect();
    } catch (err) {
      fail(kafkaError(`restarting the consumer of ${topic} in group ${group}`, err));
    } finally {
      lastProgress = Date.now();
    }
  };

  const drain = async () => {
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
  };

  const enqueue = (step: () => Promise<void>) => {
    callbacks = callbacks.then(step).catch((err) => fail(err));
  };

  /** `committable` is false after a crash: kafkajs has left the group and would drop commits silently. */
  const revokeAll = (committable: boolean) => {
    const revoked = assigned;
    assigned = [];
    for (const p of revoked) expected.delete(p);
    if (revoked.length === 0) return;
    if (committable) for (const p of revoked) revoking.add(p);
    enqueue(async () => {
      const began = Date.now();
      try {
        await drain();
        await options.onRevoked?.(revoked);
      } finally {
        for (const p of revoked) revoking.delete(p);
        log.debug("Revoked partitions.", { partitions: revoked, tookMs: Date.now() - began });
      }
    });
  };

  function listen(c: Consumer): void {
    const { GROUP_JOIN, REBALANCING, CRASH } = c.events;
    c.on(GROUP_JOIN, (event) => {
      const { memberId, isLeader, duration, memberAssignment } = event.payload;
      log.debug("Joined the consumer group.", {
        memberId,
        isLeader,
        joinMs: duration,
        partitions: memberAssignment[topic] ?? [],
        current: c === consumer,
      });
      if (c === consumer) onJoin(memberAssignment);
    });
    c.on(REBALANCING, (event) => {
      log.debug("The group is rebalancing: revoking what this member holds.", {
        memberId: event.payload.memberId,
        partitions: assigned,
        current: c === consumer,
      });
      if (c !== consumer) return;
      lastProgress = Date.now();
      revokeAll(true);
    });
    c.on(CRASH, (event) => c === consumer && onCrash(event.payload));
  }
  async function start(c: Consumer): Promise<void> {
    await c.connect();
    await c.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
    await c.run(runOptions);
  }

  function onJoin(memberAssignment: Record<string, number[]>): void {
    if (!lifecycle.active) return; // stopping: shutdown revokes what is assigned
    lastProgress = Date.now();
    noRestartBefore = 0;
    crashRestarts = 0;
    if (restarting) {
      restarting.joined();
      restarting = null;
    }
    revokeAll(true);
    const partitions = [...(memberAssignment[topic] ?? [])].sort((a, b) => a - b);
    assigned = partitions;
    enqueue(async () => {
      await subscribeReturned;
      if (partitions.length === 0) return;
      const committed = await fetchCommitted(await admin(), group, topic);
      for (const [partition, c] of committed) if (partitions.includes(partition)) expected.set(partition, c.offset);
      const began = Date.now();
      await options.onAssigned?.(
        partitions.map((partition) => ({ partition, committed: committed.get(partition) ?? null })),
      );
      await checkRetention(partitions);
      log.debug("Assigned partitions.", { partitions, tookMs: Date.now() - began });
    });
  }
  function onCrash(payload: { error: Error; restart: boolean }): void {
    if (!lifecycle.active) return;
    revokeAll(false);
    if (payload.restart) {
      log.warn("Kafka consumer crashed, kafkajs restarts it", { error: payload.error });
      return;
    }
    const error = kafkaError(`consuming ${topic} in group ${group}`, payload.error);
    // kafkajs gives up on answers it does not know as retriable (a SyncGroup refused in the middle of a
    // rebalance: on the mock, a follower whose SyncGroup comes after the leader's). Fresh consumers are tried,
    // backing off, before the stage stops; a refusal that stays (authorization, a deleted topic) ends the
    // subscription at once.
    const permanent = error.code === "PERMISSION" || error.code === "NOT_FOUND";
    if (permanent || crashRestarts >= MAX_CRASH_RESTARTS || !lifecycle.active) {
      fail(error);
      return;
    }
    // Also while a restart is under way: this may be the consumer it started, refused before it joined.
    crashRestarts++;
    log.warn("Kafka consumer crashed and kafkajs gave up; starting a new consumer.", {
      error: payload.error,
      attempt: crashRestarts,
    });
    void restartConsumer();
  }
  listen(consumer);

  const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
    // A slow onAssigned or sink must not cost the membership: kafkajs only heartbeats between batches.
    const beat = setInterval(() => heartbeat().catch(() => {}), Math.max(500, Math.floor(config.sessionTimeout / 3)));
    lastProgress = Date.now();
    try {
      for (let seen = callbacks; ; seen = callbacks) {
        await seen;
        if (seen === callbacks) break;
      }
      // An unresolved batch is fetched again by whoever owns the partition next: nothing is lost.
      if (!lifecycle.active || !assigned.includes(batch.partition) || !isRunning() || isStale()) return;
      const messages = batch.messages.map((m) => toBusMessage(batch.partition, m));
      const work = Promise.resolve().then(async () => {
        if (messages.length > 0) await checkGap(batch.partition, messages[0]!.offset);
        await options.onBatch(batch.partition, messages);
      });
      inFlight.add(work);
      try {
        await work;
      } catch (err) {
        fail(err);
        return;
      } finally {
        inFlight.delete(work);
      }
      if (!isStale()) {
        resolveOffset(batch.lastOffset());
        if (assigned.includes(batch.partition)) expected.set(batch.partition, Number(batch.lastOffset()) + 1);
      }
      crashRestarts = 0;
    } finally {
      clearInterval(beat);
      lastProgress = Date.now();
    }
  };
  const runOptions = {
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: config.concurrency,
    eachBatch,
  };

  /** Stop fetching, let the batch in flight and the pending callbacks finish, revoke, leave the group. */
  async function shutdown(): Promise<void> {
    if (watchdog) clearInterval(watchdog);
    wakeRestart?.();
    await restartRun?.catch(() => {});
    // Commits waiting for a rejoin that will not come go on (and are refused: the subscription is ending).
    restarting?.joined();
    restarting = null;
    try {
      consumer.pause([{ topic }]);
    } catch {
      // not running (crashed for good): nothing to pause
    }
    await drain();
    await callbacks;
    const revoked = assigned;
    let revokeError: { error: unknown } | null = null;
    if (revoked.length > 0 && options.onRevoked) {
      try {
        await options.onRevoked(revoked);
      } catch (error) {
        revokeError = { error };
      }
    }
    assigned = [];
    try {
      await consumer.disconnect();
    } catch (err) {
      log.warn("Leaving the consumer group failed", { error: err });
    }
    onEnd();
    if (revokeError) throw revokeError.error;
  }

  try {
    await start(consumer);
  } catch (err) {
    await consumer.disconnect().catch(() => {});
    onEnd();
    throw kafkaError(`subscribing to ${topic} in group ${group}`, err);
  }

  lifecycle.started();
  setImmediate(returned);
  if (config.stallTimeout > 0) {
    watchdog = setInterval(() => void checkStall(), Math.max(500, Math.floor(config.stallTimeout / 5)));
    watchdog.unref();
  }
  return {
    async commit(partition, offset, metadata) {
      if (lifecycle.ended) {
        throw new LogbenchError("CONFLICT", `committing ${topic}/${partition}: the subscription has ended`, {
          retryable: false,
        });
      }
      // During a watchdog restart kafkajs would drop the commit silently: wait for the rejoin (bounded).
      if (restarting) {
        const bound = new Promise<void>((r) => setTimeout(r, config.sessionTimeout * 2).unref());
        await Promise.race([restarting.done, bound]);
      }
      if (!assigned.includes(partition) && !revoking.has(partition)) {
        // kafkajs silently drops commits while its runner is down; say so instead.
        throw new LogbenchError("CONFLICT", `committing ${topic}/${partition}: partition not assigned to this member`, {
          retryable: false,
        });
      }
      try {
        await consumer.commitOffsets([{ topic, partition, offset: String(offset), metadata: metadata ?? null }]);
      } catch (err) {
        throw kafkaError(`committing ${topic}/${partition} at ${offset}`, err);
      }
    },
    seek(partition, offset) {
      if (!assigned.includes(partition)) {
        throw new LogbenchError("BAD_REQUEST", `seeking ${topic}/${partition}: partition not assigned to this member`);
      }
      consumer.seek({ topic, partition, offset: String(offset) });
      expected.set(partition, offset);
    },
    assigned: () => [...assigned],
    stop: () => lifecycle.stop(),
    done: lifecycle.done,
  };
}
