/**
 * The revoke/assign race of issue 11 §3, made deterministic: Kafka gives a partition to its new owner without
 * waiting for the old owner's onRevoked. Two archive stages share one archive folder; the bus is scripted, so the
 * test decides the order. The old owner A is revoked while it holds 100 records, and its final roll is held back
 * before it writes anything; the new owner B is assigned the partition and recovers (nothing archived yet, so it
 * resumes at 0); then A's roll goes on, and B archives the 150 records it reads from the uncommitted position.
 * Without the ownership fence A's roll lands after B's recovery and rows 0..99 are archived twice; with it, A's
 * roll is abandoned. The archive is read with hyparquet and compared with the 150 events sent.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import type { ArchiveStore, Bus, BusMessage, SubscribeOptions, Subscription } from "../../../connectors/types.ts";
import { ArchiveStage } from "../../../pipeline/archive/stage.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";

const enc = new TextEncoder();
const message = (offset: number): BusMessage => ({
  partition: 0,
  offset,
  key: "h",
  timestamp: 0,
  value: enc.encode(
    JSON.stringify({
      ts: Date.UTC(2024, 0, 1, 10) + offset * 1000,
      host: "h",
      method: "GET",
      path: `/p/${offset}`,
      status: 200,
      bytes: offset,
      source: "handoff",
    }),
  ),
});
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => message(from + i));

/** A bus whose consumer-group callbacks the test calls itself. */
function scriptedBus(): { bus: Bus; options: () => SubscribeOptions } {
  let options: SubscribeOptions | null = null;
  const sub: Subscription = {
    commit: async () => {},
    seek: () => {},
    assigned: () => [0],
    stop: async () => {},
    done: new Promise<void>(() => {}),
  };
  const bus = {
    kind: "scripted",
    offsetUnit: "messages",
    subscribe: async (o: SubscribeOptions) => {
      options = o;
      return sub;
    },
    produce: async () => {},
  } as unknown as Bus;
  return { bus, options: () => options! };
}

function archivedPaths(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== "_logbench") walk(join(d, e.name));
      else if (e.isFile() && e.name.endsWith(".parquet")) files.push(join(d, e.name));
    }
  };
  walk(root);
  return Promise.all(
    files.map(async (f) => {
      const b = readFileSync(f);
      const file = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      return ((await parquetReadObjects({ file, columns: ["path"] })) as Array<{ path: string }>).map((r) => r.path);
    }),
  ).then((all) => all.flat());
}

describe("archive hand-off between two daemons sharing an archive", () => {
  it("the old owner's last roll, landing after the new owner's recovery, does not archive rows twice", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-handoff-"));
    const root = join(dir, "archive");
    const ctx = silentContext();
    const config = parseConfig({
      archiver: { compression: "snappy", roll: { records: 10_000, idle: "1h", interval: "1h" } },
    });
    const shared = createLocalArchive({ type: "local", dir: root }, ctx);

    // A's first temporary Parquet file waits until the test lets it go: its final roll is slow.
    let reached!: () => void;
    const heldBack = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let held = false;
    const storeA: ArchiveStore = Object.assign(Object.create(shared) as ArchiveStore, {
      create: async (path: string, data: Uint8Array, o?: { overwrite?: boolean }) => {
        if (!held && path.startsWith("_logbench/tmp/")) {
          held = true;
          reached();
          await gate;
        }
        return shared.create(path, data, o);
      },
    });

    const stage = (store: ArchiveStore, bus: Bus, name: string) =>
      new ArchiveStage({
        bus,
        store,
        topic: "weblogs",
        deadLetterTopic: "weblogs.dlq",
        config: config.archiver,
        scratchDir: join(dir, `tmp-${name}`),
        ctx,
        onFatal: (err) => {
          throw err;
        },
      });
    const busA = scriptedBus();
    const busB = scriptedBus();
    const a = stage(storeA, busA.bus, "a");
    const b = stage(shared, busB.bus, "b");
    await a.start();
    await b.start();

    await busA.options().onAssigned!([{ partition: 0, committed: null }]);
    await busA.options().onBatch(0, range(0, 100));
    const revokedA = busA.options().onRevoked!([0]); // not awaited by Kafka
    await heldBack;
    await busB.options().onAssigned!([{ partition: 0, committed: null }]);
    release();
    await revokedA.catch(() => {}); // a roll that cannot land may fail; what counts is what the archive holds
    await busB.options().onBatch(0, range(0, 150)); // nothing was committed: B reads from the start
    await busB.options().onRevoked!([0]);
    await a.stop();
    await b.stop();

    const paths = await archivedPaths(root);
    expect(paths.length).toBe(150);
    expect(paths.sort()).toEqual(
      range(0, 150)
        .map((m) => `/p/${m.offset}`)
        .sort(),
    );
  });
});
