/**
 * The contract every Bus implementation passes (connectors/types.ts). Offsets are compared only for
 * order and against what the bus itself reported: Kafka's are dense, the local log's are byte positions.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Bus, BusMessage, CommittedOffset, ProduceRecord, Subscription } from "../../connectors/types.ts";

export interface BusFixture {
  bus: Bus;
  /** A fresh topic with 3 partitions. */
  topic: string;
  cleanup(): Promise<void>;
}

const BASE = Date.UTC(2024, 0, 1);
const text = (m: BusMessage) => new TextDecoder().decode(m.value);

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** n records, keys host-0..host-9, one second apart from `start`, values "v<i>". */
function records(n: number, start = BASE, prefix = "v"): ProduceRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    key: `host-${i % 10}`,
    value: `${prefix}${i}`,
    timestamp: start + i * 1000,
  }));
}

const MARKER = "marker-";
const isMarker = (m: BusMessage) => text(m).startsWith(MARKER);

/**
 * Proves that nothing more is coming without waiting for a while: one marker per key (host-0..host-9, the keys
 * of `records`) is produced after everything else and awaited. A key keeps its partition and a partition its
 * order, so once every marker arrived, every partition the keys use has delivered all that was before it.
 * Each marker must arrive once, as the last message of its partition. Returns the messages without markers.
 */
async function throughMarkers(bus: Bus, topic: string, got: BusMessage[]): Promise<BusMessage[]> {
  const markers = Array.from({ length: 10 }, (_, i) => ({ key: `host-${i}`, value: `${MARKER}${i}`, timestamp: BASE }));
  await bus.produce(topic, markers);
  await waitFor(() => got.filter(isMarker).length >= markers.length, "a marker behind every key");
  expect(got.filter(isMarker).map(text).sort()).toEqual(markers.map((m) => m.value).sort());
  for (const p of new Set(got.filter(isMarker).map((m) => m.partition))) {
    expect(isMarker(got.filter((m) => m.partition === p).at(-1)!)).toBe(true);
  }
  return got.filter((m) => !isMarker(m));
}

/** Subscribe and collect everything delivered; `hold` may delay a batch. */
async function collect(
  bus: Bus,
  topic: string,
  group: string,
  extra: {
    onAssigned?: (a: Array<{ partition: number; committed: CommittedOffset | null }>, sub: () => Subscription) => void;
    onRevoked?: (p: number[]) => void;
  } = {},
) {
  const got: BusMessage[] = [];
  let sub: Subscription | null = null;
  sub = await bus.subscribe({
    topic,
    group,
    onBatch: async (_partition, messages) => {
      got.push(...messages);
    },
    onAssigned: async (assigned) => extra.onAssigned?.(assigned, () => sub!),
    onRevoked: async (partitions) => extra.onRevoked?.(partitions),
  });
  return { got, sub };
}

export function busContract(name: string, make: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fx: BusFixture;
    beforeEach(async () => {
      fx = await make();
    });
    afterEach(async () => {
      await fx.cleanup();
    });

    it("delivers every record once, in per-partition order, with its key and timestamp; a key keeps its partition", async () => {
      const produced = records(60);
      await fx.bus.produce(fx.topic, produced.slice(0, 30));
      await fx.bus.produce(fx.topic, produced.slice(30));
      const { got, sub } = await collect(fx.bus, fx.topic, "g-order");
      await waitFor(() => got.length >= 60, "60 messages");
      const data = await throughMarkers(fx.bus, fx.topic, got);
      await sub.stop();

      expect(data.map(text).sort()).toEqual(produced.map((r) => r.value).sort());
      const byValue = new Map(produced.map((r) => [r.value as string, r]));
      for (const m of data) {
        expect(m.key).toBe(byValue.get(text(m))!.key);
        expect(m.timestamp).toBe(byValue.get(text(m))!.timestamp);
      }
      const partitionsOfKey = new Map<string, Set<number>>();
      for (const m of got) partitionsOfKey.set(m.key!, (partitionsOfKey.get(m.key!) ?? new Set()).add(m.partition));
      for (const [key, parts] of partitionsOfKey) expect([key, parts.size]).toEqual([key, 1]);
      expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
      for (const p of new Set(got.map((m) => m.partition))) {
        const inPartition = got.filter((m) => m.partition === p);
        const offsets = inPartition.map((m) => m.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
        expect(new Set(offsets).size).toBe(offsets.length);
        // Produced order survives within a partition: value indices increase.
        const indices = inPartition.filter((m) => !isMarker(m)).map((m) => Number(text(m).slice(1)));
        expect(indices).toEqual([...indices].sort((a, b) => a - b));
      }
    });

    it("resumes a group after its commit, handing back the commit's metadata", async () => {
      await fx.bus.produce(fx.topic, records(30));
      const first = await collect(fx.bus, fx.topic, "g-resume");
      await waitFor(() => first.got.length >= 30, "30 messages");
      const commits = new Map<number, CommittedOffset>();
      for (const p of first.sub.assigned()) {
        const mine = first.got.filter((m) => m.partition === p);
        if (mine.length < 2) continue;
        // Resume in the middle: the half before it is "processed".
        const next = mine[Math.floor(mine.length / 2)]!.offset;
        commits.set(p, { offset: next, metadata: `checkpoint-${p}` });
        await first.sub.commit(p, next, `checkpoint-${p}`);
      }
      expect(commits.size).toBeGreaterThan(0);
      await first.sub.stop();

      const stored = await fx.bus.committed("g-resume", fx.topic);
      for (const [p, c] of commits) expect(stored.get(p)).toEqual(c);

      const announced = new Map<number, CommittedOffset | null>();
      const second = await collect(fx.bus, fx.topic, "g-resume", {
        onAssigned: (a) => {
          for (const x of a) announced.set(x.partition, x.committed);
        },
      });
      const expected = first.got.filter((m) => {
        const c = commits.get(m.partition);
        return c === undefined || m.offset >= c.offset;
      });
      await waitFor(() => second.got.length >= expected.length, `${expected.length} redelivered messages`);
      await fx.bus.produce(fx.topic, [{ key: "host-1", value: "late", timestamp: BASE }]);
      await waitFor(() => second.got.some((m) => text(m) === "late"), "the message produced after the resume");
      await second.sub.stop();
      for (const [p, c] of commits) expect(announced.get(p)).toEqual(c);
      expect(
        second.got
          .filter((m) => text(m) !== "late")
          .map(text)
          .sort(),
      ).toEqual(expected.map(text).sort());
    });

    it("redelivers everything to a new member when nothing was committed (at least once)", async () => {
      await fx.bus.produce(fx.topic, records(20));
      const first = await collect(fx.bus, fx.topic, "g-alo");
      await waitFor(() => first.got.length >= 20, "20 messages");
      await first.sub.stop();
      expect(await fx.bus.committed("g-alo", fx.topic)).toEqual(new Map());
      // A commit after stop must fail loudly, not vanish.
      await expect(first.sub.commit(0, first.got[0]!.offset)).rejects.toMatchObject({ code: "CONFLICT" });
      const second = await collect(fx.bus, fx.topic, "g-alo");
      await waitFor(() => second.got.length >= 20, "20 redelivered messages");
      await second.sub.stop();
      expect(second.got.map(text).sort()).toEqual(first.got.map(text).sort());
    });

    it("seeks from onAssigned and calls onRevoked with the assigned partitions on stop", async () => {
      await fx.bus.produce(fx.topic, records(30));
      const all = await collect(fx.bus, fx.topic, "g-seek-a");
      await waitFor(() => all.got.length >= 30, "30 messages");
      await all.sub.stop();
      const third = new Map<number, number>();
      for (const p of new Set(all.got.map((m) => m.partition))) {
        const mine = all.got.filter((m) => m.partition === p);
        if (mine.length >= 3) third.set(p, mine[2]!.offset);
      }
      const revoked: number[][] = [];
      const seeking = await collect(fx.bus, fx.topic, "g-seek-b", {
        onAssigned: (a, sub) => {
          for (const { partition } of a) {
            const to = third.get(partition);
            if (to !== undefined) sub().seek(partition, to);
          }
        },
        onRevoked: (p) => revoked.push(p),
      });
      const expected = all.got.filter((m) => (third.has(m.partition) ? m.offset >= third.get(m.partition)! : true));
      await waitFor(() => seeking.got.length >= expected.length, `${expected.length} messages after the seeks`);
      const data = await throughMarkers(fx.bus, fx.topic, seeking.got);
      expect(seeking.sub.assigned()).toEqual([0, 1, 2]);
      await seeking.sub.stop();
      expect(data.map(text).sort()).toEqual(expected.map(text).sort());
      expect(revoked.flat().sort()).toEqual([0, 1, 2]);
      expect(seeking.sub.assigned()).toEqual([]);
    });

    it("reads exactly the messages of a time window, and honours its limit", async () => {
      // Timestamps out of produce order within a key, so the window cannot rely on monotonic time.
      const produced = records(60).map((r, i) => ({ ...r, timestamp: BASE + ((i * 37) % 60) * 1000 }));
      await fx.bus.produce(fx.topic, produced);
      const from = BASE + 10_000;
      const to = BASE + 30_000;
      const window = await fx.bus.readWindow(fx.topic, { from, to });
      const expected = produced.filter((r) => r.timestamp >= from && r.timestamp < to).map((r) => r.value);
      expect(expected.length).toBe(20);
      expect(window.map(text).sort()).toEqual([...expected].sort());
      for (const m of window) expect(m.timestamp >= from && m.timestamp < to).toBe(true);

      const limited = await fx.bus.readWindow(fx.topic, { from, to, limit: 5 });
      expect(limited).toHaveLength(5);
      for (const m of limited) expect(expected).toContain(text(m));
      expect(await fx.bus.readWindow(fx.topic, { from: BASE + 3_600_000, to: BASE + 7_200_000 })).toEqual([]);
    });

    it("reports per-partition offsets: every message below its high watermark, the next one at or above it", async () => {
      const before = await fx.bus.partitions(fx.topic);
      expect(before.map((p) => p.partition)).toEqual([0, 1, 2]);
      for (const p of before) expect(p.high).toBe(p.low);
      await fx.bus.produce(fx.topic, records(30));
      const after = await fx.bus.partitions(fx.topic);
      const all = await collect(fx.bus, fx.topic, "g-offsets");
      await waitFor(() => all.got.length >= 30, "30 messages");
      await all.sub.stop();
      for (const p of after) {
        const mine = all.got.filter((m) => m.partition === p.partition);
        if (mine.length === 0) expect(p.high).toBe(p.low);
        for (const m of mine) expect(m.offset >= p.low && m.offset < p.high).toBe(true);
      }
      const later = await collect(fx.bus, fx.topic, "g-offsets");
      await fx.bus.produce(fx.topic, [{ key: "host-3", value: "next", timestamp: BASE }]);
      await waitFor(() => later.got.some((m) => text(m) === "next"), "the next message");
      await later.sub.stop();
      const next = later.got.find((m) => text(m) === "next")!;
      expect(next.offset).toBeGreaterThanOrEqual(after.find((p) => p.partition === next.partition)!.high);
      const moved = (await fx.bus.partitions(fx.topic)).find((p) => p.partition === next.partition)!;
      expect(moved.high).toBeGreaterThan(next.offset);
    });

    it("holds back a partition's next batch until onBatch resolves", async () => {
      await fx.bus.produce(fx.topic, records(30));
      const active = new Set<number>();
      const batches = new Map<number, number>();
      let overlaps = 0;
      let release!: () => void;
      const gate = new Promise<void>((r) => {
        release = r;
      });
      let held: number | null = null;
      const got: BusMessage[] = [];
      const sub = await fx.bus.subscribe({
        topic: fx.topic,
        group: "g-backpressure",
        onBatch: async (partition, messages) => {
          if (active.has(partition)) overlaps++;
          active.add(partition);
          batches.set(partition, (batches.get(partition) ?? 0) + 1);
          held ??= partition;
          if (held === partition) await gate;
          else await new Promise((r) => setTimeout(r, 20));
          got.push(...messages);
          active.delete(partition);
        },
      });
      await waitFor(() => held !== null, "a first batch");
      const heldPartition = held!;
      // More records for every partition while the first batch is pending.
      await fx.bus.produce(fx.topic, records(30, BASE, "w"));
      // A witness instead of a pause: a second group reads all 60 records, the new ones of the held partition
      // too, so they were there to be fetched; the held partition still has had only its first batch.
      const witness = await collect(fx.bus, fx.topic, "g-backpressure-witness");
      await waitFor(() => witness.got.length >= 60, "a second group to read all 60 records");
      await witness.sub.stop();
      expect(
        witness.got.filter((m) => m.partition === heldPartition && text(m).startsWith("w")).length,
      ).toBeGreaterThan(0);
      expect(batches.get(heldPartition)).toBe(1);
      release();
      await waitFor(() => got.length >= 60, "all 60 messages after the release");
      await sub.stop();
      expect(overlaps).toBe(0);
    });

    it("ends `done` with the error a rejecting onBatch threw", async () => {
      await fx.bus.produce(fx.topic, records(10));
      const sub = await fx.bus.subscribe({
        topic: fx.topic,
        group: "g-reject",
        onBatch: async () => {
          throw new Error("sink is broken");
        },
      });
      await expect(sub.done).rejects.toThrow("sink is broken");
      expect(await fx.bus.committed("g-reject", fx.topic)).toEqual(new Map());
    });
  });
}
