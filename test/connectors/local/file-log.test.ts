import { appendFile, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Partitioners } from "kafkajs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MetricsRegistry, silentContext, silentLogger } from "../../../connectors/context.ts";
import { localBusSchema } from "../../../connectors/local/config.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import { crc32, crc32Js, encodeFrames } from "../../../connectors/local/frame.ts";
import { partitionForKey } from "../../../connectors/partitioner.ts";
import type { Bus, BusMessage } from "../../../connectors/types.ts";
import { busContract, waitFor } from "../../contracts/bus.ts";
import { recordingContext } from "../../pipeline/reliability/recording-context.ts";
import { startTsxChild, type TsxChild } from "../../tsx-child.ts";

// tryLock as it is, but every attempt on a group's member lock is recorded with its outcome.
const lockAttempts = vi.hoisted(() => [] as Array<{ path: string; granted: boolean }>);
vi.mock("../../../connectors/local/lock-file.ts", async (importOriginal) => {
  const real = await importOriginal<typeof import("../../../connectors/local/lock-file.ts")>();
  return {
    ...real,
    tryLock: async (path: string, staleMs: number) => {
      const lock = await real.tryLock(path, staleMs);
      lockAttempts.push({ path, granted: lock !== null });
      return lock;
    },
  };
});
const refusedMemberLocks = (dir: string, group: string) =>
  lockAttempts.filter((a) => !a.granted && a.path === join(dir, "weblogs", "groups", group, "member.lock")).length;

const HERE = dirname(fileURLToPath(import.meta.url));
const CHILD = join(HERE, "file-log-child.ts");
const text = (m: BusMessage) => new TextDecoder().decode(m.value);
const makeBus = (dir: string, partitions = 3, ctx = silentContext()) =>
  createLocalBus(localBusSchema.parse({ type: "local", dir, partitions }), ctx);

busContract("local file log", async () => {
  const dir = await mkdtemp(join(tmpdir(), "logbench-bus-"));
  const bus = makeBus(dir);
  return {
    bus,
    topic: "weblogs",
    cleanup: async () => {
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

type Child = TsxChild;

const startChild = (args: string[]): Child => startTsxChild(CHILD, args);

/** Bytes of a record's frame, from the grammar in frame.ts: a 12-byte header, 12 fixed body bytes, key, value. */
const frameBytes = (m: BusMessage) => 24 + (m.key === null ? 0 : Buffer.byteLength(m.key)) + m.value.length;

/**
 * Everything in the topic, read through a fresh group. Instead of a pause, it waits until every partition
 * delivered the frame that ends at its high watermark: then nothing written before the call is still to come.
 */
async function readAll(bus: Bus, topic: string, expected: number): Promise<BusMessage[]> {
  const ends = await bus.partitions(topic);
  const got: BusMessage[] = [];
  const sub = await bus.subscribe({
    topic,
    group: `all-${Math.random().toString(36).slice(2)}`,
    onBatch: async (_p, m) => {
      got.push(...m);
    },
  });
  const reachedEnd = ({ partition, low, high }: { partition: number; low: number; high: number }) => {
    if (high <= low) return true;
    const last = got.filter((m) => m.partition === partition).at(-1);
    return last !== undefined && last.offset + frameBytes(last) >= high;
  };
  await waitFor(() => ends.every(reachedEnd), "every partition read up to its high watermark");
  await sub.stop();
  expect(got.length).toBeGreaterThanOrEqual(expected);
  return got;
}

describe("local file log", () => {
  let dir: string;
  const buses: Bus[] = [];
  const children: Child[] = [];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "logbench-bus-"));
  });
  afterEach(async () => {
    for (const c of children.splice(0)) c.process.kill("SIGKILL");
    await Promise.all(buses.splice(0).map((b) => b.close()));
    await rm(dir, { recursive: true, force: true });
  });
  const bus = (partitions = 3, ctx = silentContext()) => {
    const b = makeBus(dir, partitions, ctx);
    buses.push(b);
    return b;
  };

  it("frames carry the standard CRC-32, native or not (check value of '123456789' is 0xCBF43926)", () => {
    const check = new TextEncoder().encode("123456789");
    expect(crc32Js(check)).toBe(0xcbf43926);
    expect(crc32(check)).toBe(0xcbf43926);
    const bytes = new Uint8Array(10_000).map((_, i) => (i * 7919) & 0xff);
    for (const [start, end] of [
      [0, 10_000],
      [13, 9_001],
      [500, 500],
    ] as const)
      expect(crc32(bytes, start, end)).toBe(crc32Js(bytes, start, end));
  });

  it("puts a key on the same partition as Kafka's default partitioner does", () => {
    const kafka = Partitioners.DefaultPartitioner();
    for (let i = 0; i < 500; i++) {
      const key = `199.72.81.${i}${i % 3 ? ".example.com" : ""}`;
      for (const n of [1, 3, 8]) {
        const partitionMetadata = Array.from({ length: n }, (_, partitionId) => ({
          partitionId,
          leader: 1,
          partitionErrorCode: 0,
          replicas: [1],
          isr: [1],
        }));
        const expected = kafka({ topic: "t", partitionMetadata, message: { key, value: "" } });
        expect(partitionForKey(key, n)).toBe(expected);
      }
    }
  });

  it("keeps the partition count of the process that created the topic, and says so when the config differs", async () => {
    await bus(3).produce("weblogs", [{ key: "a", value: "1" }]);
    const { logs, ctx } = recordingContext("info");
    expect((await bus(5, ctx).partitions("weblogs")).map((p) => p.partition)).toEqual([0, 1, 2]);
    expect(logs).toEqual([expect.objectContaining({ level: "info", topic: "weblogs", partitions: 3, configured: 5 })]);
    const same = recordingContext("info");
    await bus(3, same.ctx).partitions("weblogs");
    expect(same.logs).toEqual([]);
  });

  it("opens one read handle per partition for high watermarks asked for at once", async () => {
    const b = bus(3);
    await b.produce("weblogs", [
      { key: "a", value: "1" },
      { key: "b", value: "2" },
      { key: "c", value: "3" },
    ]);
    // Descriptors of this process that point into the bus's folder (the oracle: the kernel's fd table).
    const open = async () => {
      let n = 0;
      for (const fd of await readdir("/proc/self/fd"))
        if ((await readlink(`/proc/self/fd/${fd}`).catch(() => "")).startsWith(dir)) n++;
      return n;
    };
    const before = await open();
    const answers = await Promise.all(Array.from({ length: 20 }, () => b.partitions("weblogs")));
    expect(new Set(answers.map((a) => JSON.stringify(a))).size).toBe(1);
    // Twenty callers at once share each partition's open: at most one new descriptor per partition, not twenty.
    expect((await open()) - before).toBeLessThanOrEqual(3);
  });

  it("resumes from 'last offset + 1' at the next record, although offsets are byte positions", async () => {
    const b = bus();
    await b.produce(
      "weblogs",
      [1, 2, 3, 4].map((i) => ({ key: "same-host", value: `r${i}` })),
    );
    const all = await readAll(b, "weblogs", 4);
    const second = all.find((m) => text(m) === "r2")!;
    const got: BusMessage[] = [];
    const sub = await b.subscribe({
      topic: "weblogs",
      group: "resume",
      onBatch: async (_p, m) => {
        got.push(...m);
      },
      onAssigned: async () => sub.seek(second.partition, second.offset + 1),
    });
    await waitFor(() => got.length >= 2, "the records after r2");
    // A last record on the same partition, instead of a pause: once it arrived, nothing else is before it.
    await b.produce("weblogs", [{ key: "same-host", value: "end" }]);
    await waitFor(() => got.some((m) => text(m) === "end"), "the record after them");
    await sub.stop();
    expect(got.map(text)).toEqual(["r3", "r4", "end"]);
  });

  it("loses nothing when two processes append to the same partitions at once, while a third reads", async () => {
    const reader = bus();
    const got: BusMessage[] = [];
    const sub = await reader.subscribe({
      topic: "weblogs",
      group: "live",
      onBatch: async (_p, m) => {
        got.push(...m);
      },
    });
    const a = startChild(["produce", dir, "weblogs", "a", "1500", "7"]);
    const b = startChild(["produce", dir, "weblogs", "b", "1500", "11"]);
    children.push(a, b);
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    await waitFor(() => got.length >= 3000, "3000 records from two producers", 60_000);
    // One last record per partition, instead of a pause: once each arrived, its partition has delivered everything.
    const lastKeys = [0, 1, 2].map((p) => {
      let i = 0;
      while (partitionForKey(`end-${i}`, 3) !== p) i++;
      return `end-${i}`;
    });
    await reader.produce(
      "weblogs",
      lastKeys.map((key) => ({ key, value: key })),
    );
    await waitFor(() => lastKeys.every((k) => got.some((m) => text(m) === k)), "a last record on every partition");
    await sub.stop();
    for (let p = 0; p < 3; p++) expect(text(got.filter((m) => m.partition === p).at(-1)!)).toBe(lastKeys[p]);
    expect(got.filter((m) => lastKeys.includes(text(m)))).toHaveLength(3);
    const values = got.map(text).filter((v) => !lastKeys.includes(v));
    expect(new Set(values).size).toBe(3000);
    expect(values.length).toBe(3000);
    for (const prefix of ["a", "b"]) {
      for (let p = 0; p < 3; p++) {
        // Each producer's records keep their order within a partition.
        const seq = got
          .filter((m) => m.partition === p && text(m).startsWith(`${prefix}-`))
          .map((m) => Number(text(m).slice(2)));
        expect(seq).toEqual([...seq].sort((x, y) => x - y));
      }
    }
  });

  it("cuts a torn tail on the next append; readers never see it", async () => {
    const metrics = new MetricsRegistry();
    const b = bus(3, { logger: silentLogger, metrics, signal: new AbortController().signal });
    await b.produce("weblogs", [{ key: "host-1", value: "before" }]);
    const p = partitionForKey("host-1", 3);
    const file = join(dir, "weblogs", String(p), "log");
    const validSize = (await stat(file)).size;
    const torn = encodeFrames([{ key: "host-1", value: new TextEncoder().encode("torn".repeat(100)), timestamp: 1 }]);
    await appendFile(file, torn.subarray(0, 200));
    expect((await b.partitions("weblogs"))[p]!.high).toBe(validSize);
    expect((await readAll(b, "weblogs", 1)).map(text)).toEqual(["before"]);

    await b.produce("weblogs", [{ key: "host-1", value: "after" }]);
    const all = await readAll(b, "weblogs", 2);
    expect(all.map(text)).toEqual(["before", "after"]);
    expect(all[1]!.offset).toBe(validSize);
    expect(metrics.get("bus_torn_tail_bytes_total", { bus: "local", topic: "weblogs" })).toBe(200);
  });

  it("takes over an append lock left by a process that died", async () => {
    const b = bus();
    await b.produce("weblogs", [{ key: "host-1", value: "first" }]);
    const dead = startChild(["produce", dir, "other", "x", "0", "1"]);
    await dead.exited;
    const p = partitionForKey("host-1", 3);
    await writeFile(
      join(dir, "weblogs", String(p), "append.lock"),
      JSON.stringify({ pid: dead.process.pid, token: "t", at: 0 }),
    );
    const started = Date.now();
    await b.produce("weblogs", [{ key: "host-1", value: "second" }]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await readAll(b, "weblogs", 2)).map(text)).toEqual(["first", "second"]);
  });

  it("keeps every acknowledged record when a busy producer is killed with SIGKILL", async () => {
    const flood = startChild(["flood", dir, "weblogs", "f"]);
    children.push(flood);
    await waitFor(() => flood.lines.some((l) => l.startsWith("acked 300")), "three acknowledged batches", 60_000);
    await new Promise((r) => setTimeout(r, Math.random() * 30));
    flood.process.kill("SIGKILL");
    await flood.exited;
    const acked = Math.max(...flood.lines.filter((l) => l.startsWith("acked ")).map((l) => Number(l.slice(6))));

    const b = bus();
    await b.produce("weblogs", [{ key: "host-1", value: "after-the-kill" }]);
    // The kill may have torn the tail of any partition; the next append to each one cuts it.
    for (let p = 0; p < 3; p++) {
      let k = 0;
      while (partitionForKey(`cut-${k}`, 3) !== p) k++;
      await b.produce("weblogs", [{ key: `cut-${k}`, value: "cut" }]);
    }
    const highs = await b.partitions("weblogs");
    for (const h of highs) expect(h.high).toBe((await stat(join(dir, "weblogs", String(h.partition), "log"))).size);
    const all = await readAll(b, "weblogs", acked + 4);
    const values = all.map(text);
    expect(values).toContain("after-the-kill");
    const flooded = new Set(values.filter((v) => v.startsWith("f-")).map((v) => Number(v.split("-")[1])));
    for (let n = 0; n < acked; n++) expect(flooded.has(n)).toBe(true);
    for (const v of values.filter((x) => x.startsWith("f-"))) expect(v.endsWith("x".repeat(20_000))).toBe(true);
  });

  it("recovers from a producer killed with SIGKILL while holding the lock with half a frame written", async () => {
    const b = bus();
    await b.produce("weblogs", [{ key: "host-1", value: "before" }]);
    const p = partitionForKey("host-1", 3);
    const file = join(dir, "weblogs", String(p), "log");
    const validSize = (await stat(file)).size;
    const tear = startChild(["tear", dir, "weblogs", String(p)]);
    children.push(tear);
    await waitFor(() => tear.lines.includes("torn"), "the child to tear the tail", 30_000);
    tear.process.kill("SIGKILL");
    await tear.exited;
    expect((await stat(file)).size).toBe(validSize + 2500);
    expect((await readAll(b, "weblogs", 1)).map(text)).toEqual(["before"]);

    const started = Date.now();
    await b.produce("weblogs", [{ key: "host-1", value: "after" }]);
    expect(Date.now() - started).toBeLessThan(5_000);
    const all = await readAll(b, "weblogs", 2);
    expect(all.map(text)).toEqual(["before", "after"]);
    expect(all[1]!.offset).toBe(validSize);
  });

  it("hands the group to a standby member when the active member's process is killed", async () => {
    const b = bus();
    await b.produce("weblogs", [{ key: "host-1", value: "x" }]);
    const active = startChild(["consume", dir, "weblogs", "shared"]);
    children.push(active);
    await waitFor(() => active.lines.includes("assigned 0,1,2"), "the child to own the group", 30_000);
    const assignedHere: number[][] = [];
    const standby = await b.subscribe({
      topic: "weblogs",
      group: "shared",
      onBatch: async () => {},
      onAssigned: async (a) => {
        assignedHere.push(a.map((x) => x.partition));
      },
    });
    // Instead of a pause: the standby asked for the member lock three times and was refused each time.
    await waitFor(() => refusedMemberLocks(dir, "shared") >= 3, "three refused membership attempts", 30_000);
    expect(standby.assigned()).toEqual([]);
    expect(assignedHere).toEqual([]);
    active.process.kill("SIGKILL");
    await waitFor(() => standby.assigned().length === 3, "the standby to take over", 10_000);
    expect(assignedHere).toEqual([[0, 1, 2]]);
    await standby.stop();
  });

  it("stores commits in files another process reads back", async () => {
    const b = bus();
    await b.produce("weblogs", [{ key: "k", value: "v" }]);
    const sub = await b.subscribe({ topic: "weblogs", group: "g", onBatch: async () => {} });
    await waitFor(() => sub.assigned().length === 3, "assignment");
    await sub.commit(1, 42, "meta");
    await sub.stop();
    const raw = JSON.parse(await readFile(join(dir, "weblogs", "groups", "g", "1.commit"), "utf8"));
    expect(raw).toEqual({ offset: 42, metadata: "meta" });
    expect(await bus().committed("g", "weblogs")).toEqual(new Map([[1, { offset: 42, metadata: "meta" }]]));
  });
});
