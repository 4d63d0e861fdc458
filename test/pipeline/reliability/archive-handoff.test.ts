/**
 * The revoke/assign race of issue 11 §3, made deterministic: Kafka gives a partition to its new owner without
 * waiting for the old owner's onRevoked. Two archive stages share one archive folder; the bus is scripted, so the
 * test decides the order. The old owner A is revoked while it holds 100 records, and its final roll is held back
 * before it writes anything; the new owner B is assigned the partition and recovers (nothing archived yet, so it
 * resumes at 0); then A's roll goes on, and B archives the 150 records it reads from the uncommitted position.
 * Without the ownership fence A's roll lands after B's recovery and rows 0..99 are archived twice; with it, A's
 * roll is abandoned. The archive is read with hyparquet and compared with the 150 events sent.
 *
 * The fence once waited 2 s for the old owner and left a gap: a roll held up longer, between its claim check and its
 * commit (the log entry's rename), still landed. The two last tests hold A's commit there for longer than that and
 * let it go (a) while B's recovery is reading the log, and (b) after B has recovered: each event archived once, and
 * in (b) A's roll is abandoned cleanly (ownership.ts explains why one side always sees the other).
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import type { ArchiveStore, Bus, BusMessage } from "../../../connectors/types.ts";
import { walDir } from "../../../pipeline/archive/layout.ts";
import { ArchiveStage } from "../../../pipeline/archive/stage.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import { scriptedBus } from "../archive/roll-fixture.ts";
import { recordingContext } from "./recording-context.ts";

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

/** An archive stage on `store` and `bus` whose fatal errors fail the test. */
function archiveStage(
  store: ArchiveStore,
  bus: Bus,
  config: ConstructorParameters<typeof ArchiveStage>[0]["config"],
  scratchDir: string,
  ctx: ConstructorParameters<typeof ArchiveStage>[0]["ctx"],
): ArchiveStage {
  return new ArchiveStage({
    bus,
    store,
    topic: "weblogs",
    deadLetterTopic: "weblogs.dlq",
    config,
    scratchDir,
    ctx,
    onFatal: (err) => {
      throw err;
    },
  });
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
      archiveStage(store, bus, config.archiver, join(dir, `tmp-${name}`), ctx);
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

  /** Longer than the 2 s the fence used to give an old owner's commit in flight. */
  const HELD_MS = 2_500;

  /**
   * A commits 0..49 (rolls every 50 records), then holds 50..79 when revoked; its final roll stops just before the
   * rename of its log entry (after its claim check) until the test lets it go. B's store may hook B's first listing
   * of the partition's log. Returns the stages and the gates.
   */
  async function heldCommit(onBFirstLogListing?: () => Promise<void>) {
    const dir = mkdtempSync(join(tmpdir(), "logbench-handoff-held-"));
    const root = join(dir, "archive");
    const { logs, ctx } = recordingContext();
    const config = parseConfig({
      archiver: { compression: "snappy", roll: { records: 50, idle: "1h", interval: "1h" } },
    });
    const shared = createLocalArchive({ type: "local", dir: root }, ctx);
    let atRename!: () => void;
    const reachedRename = new Promise<void>((r) => (atRename = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let revoking = false;
    const storeA: ArchiveStore = Object.assign(Object.create(shared) as ArchiveStore, {
      rename: async (from: string, to: string) => {
        if (revoking && from.startsWith(walDir("weblogs", 0)) && from.endsWith(".tmp")) {
          atRename();
          await gate;
        }
        return shared.rename(from, to);
      },
    });
    let listed = false;
    const storeB: ArchiveStore = Object.assign(Object.create(shared) as ArchiveStore, {
      list: async (path: string) => {
        const answer = await shared.list(path);
        if (!listed && path === walDir("weblogs", 0) && onBFirstLogListing) {
          listed = true;
          await onBFirstLogListing();
        }
        return answer;
      },
    });
    const stage = (store: ArchiveStore, bus: Bus, name: string) =>
      archiveStage(store, bus, config.archiver, join(dir, `tmp-${name}`), ctx);
    const busA = scriptedBus();
    const busB = scriptedBus();
    const a = stage(storeA, busA.bus, "a");
    const b = stage(storeB, busB.bus, "b");
    await a.start();
    await b.start();
    await busA.options().onAssigned!([{ partition: 0, committed: null }]);
    await busA.options().onBatch(0, range(0, 50)); // rolled and committed: the log has an entry ending at 49
    await busA.options().onBatch(0, range(50, 80));
    revoking = true;
    const revokedA = busA.options().onRevoked!([0]); // not awaited by Kafka
    await reachedRename;
    const heldSince = Date.now();
    return { root, logs, a, b, busB, revokedA, release, heldSince };
  }

  it("an old owner's commit held > 2 s, landing while the new owner's recovery reads the log, is not doubled", async () => {
    let t: Awaited<ReturnType<typeof heldCommit>> | null = null;
    let heldFor = 0;
    // A's commit lands completely (log entry and files) between B's first look at the log and the rest of B's
    // recovery. Without the fence's order (temporary entries deleted before the log is read) B resumed at 50.
    t = await heldCommit(async () => {
      heldFor = Date.now() - t!.heldSince;
      t!.release();
      await t!.revokedA;
    });
    await new Promise((r) => setTimeout(r, HELD_MS));
    await t.busB.options().onAssigned!([{ partition: 0, committed: null }]);
    await t.busB.options().onBatch(0, range(0, 150)); // nothing committed to the group: B reads from the start
    await t.busB.options().onRevoked!([0]);
    await t.a.stop();
    await t.b.stop();
    expect(heldFor).toBeGreaterThanOrEqual(HELD_MS);
    const paths = await archivedPaths(t.root);
    expect(paths.sort()).toEqual(
      range(0, 150)
        .map((m) => `/p/${m.offset}`)
        .sort(),
    );
  });

  it("an old owner's commit held > 2 s, landing after the new owner recovered, is abandoned cleanly", async () => {
    const t = await heldCommit();
    await new Promise((r) => setTimeout(r, HELD_MS));
    await t.busB.options().onAssigned!([{ partition: 0, committed: null }]); // B recovered: resumes at 50
    t.release();
    await t.revokedA; // abandoned, not failed: the stage goes on
    await t.busB.options().onBatch(0, range(0, 150));
    await t.busB.options().onRevoked!([0]);
    await t.a.stop();
    await t.b.stop();
    expect(Date.now() - t.heldSince).toBeGreaterThanOrEqual(HELD_MS);
    expect(t.logs.filter((l) => String(l.message).startsWith("Abandoned a roll")).length).toBe(1);
    const paths = await archivedPaths(t.root);
    expect(paths.sort()).toEqual(
      range(0, 150)
        .map((m) => `/p/${m.offset}`)
        .sort(),
    );
  });
});
