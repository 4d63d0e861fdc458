import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import { bucketKey, bucketOf, parseFinalName } from "../../../pipeline/archive/layout.ts";
import { startTsxChild, type TsxChild } from "../../tsx-child.ts";
import { type ArchivedFile, HOURS, MESSAGES, range, readArchive, rollingStage, scriptedBus } from "./roll-fixture.ts";

const CHILD = fileURLToPath(new URL("./roll-child.ts", import.meta.url));

/** What the archive must hold: every message of [0, MESSAGES) once, each file coherent with its name. */
function expectExactlyTheMessages(files: ArchivedFile[], partition = 0): void {
  const seen: string[] = [];
  for (const f of files) {
    const name = parseFinalName(f.path.slice(f.path.lastIndexOf("/") + 1))!;
    expect(name.partition).toBe(partition);
    const offsets = f.rows.map((r) => r.bytes); // each message's `bytes` is its offset
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
    expect(offsets[0]).toBe(name.first);
    expect(offsets.at(-1)).toBe(name.last);
    for (const r of f.rows) {
      expect(f.path.startsWith(`weblogs/${bucketKey(bucketOf(r.ts))}/`)).toBe(true);
      seen.push(r.path);
    }
  }
  const sent = range(0, MESSAGES, partition).map((m) => JSON.parse(new TextDecoder().decode(m.value)).path as string);
  expect(seen.sort()).toEqual(sent.sort());
}

describe("a roll of many buckets", () => {
  it("writes one file per hour holding exactly the messages sent, in offset order", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-roll-many-"));
    const root = join(dir, "archive");
    const ctx = silentContext();
    const store = createLocalArchive({ type: "local", dir: root }, ctx);
    const { bus, options } = scriptedBus();
    const stage = rollingStage(store, bus, join(dir, "scratch"), ctx);
    await stage.start();
    await options().onAssigned!([{ partition: 0, committed: null }]);
    // Several batches, as the bus delivers them: buckets grow across batches.
    for (let at = 0; at < MESSAGES; at += 400) await options().onBatch(0, range(at, Math.min(at + 400, MESSAGES)));
    await options().onRevoked!([0]);
    await stage.stop();
    const files = await readArchive(root);
    expect(files.length).toBe(HOURS);
    expectExactlyTheMessages(files);
    // Nothing left of the roll's own bookkeeping but its log entry.
    expect(await store.list("_logbench/tmp/weblogs")).toEqual([]);
    expect((await store.list("_logbench/wal/weblogs/0")).map((f) => f.name)).toEqual([`${MESSAGES - 1}.json`]);
  });
});

type Child = TsxChild;

const startChild = (args: string[]): Child => startTsxChild(CHILD, args);

async function waitForLine(child: Child, prefix: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!child.lines.some((l) => l.startsWith(prefix))) {
    if (child.lines.some((l) => l.startsWith("exit")) || Date.now() > deadline)
      throw new Error(`child did not reach "${prefix}": ${child.lines.join("\n")}`);
    await Promise.race([new Promise((ok) => child.process.stdout!.once("data", ok)), child.exited]);
  }
}

describe("a roll of many buckets killed with SIGKILL", () => {
  it.each([
    ["create", 30], // temporary files half written: no log entry yet
    ["rename", 1], // committed, one file renamed
    ["rename", 45], // committed, most renamed
    ["synced", 0], // every file in place, the older entries not pruned
  ])(
    "at %s %i: a new stage on the archive ends with each message archived once",
    async (point, n) => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-roll-kill-"));
      const root = join(dir, "archive");
      const child = startChild([root, join(dir, "scratch-a"), point, String(n)]);
      await waitForLine(child, `at ${point}`);
      child.process.kill("SIGKILL");
      await child.exited;

      // The new owner: recovery finishes or discards the roll, then it reads the partition again from the start
      // (nothing was committed to the group) and skips what the archive already holds.
      const ctx = silentContext();
      const store = createLocalArchive({ type: "local", dir: root }, ctx);
      const { bus, options } = scriptedBus();
      const stage = rollingStage(store, bus, join(dir, "scratch-b"), ctx);
      await stage.start();
      await options().onAssigned!([{ partition: 0, committed: null }]);
      await options().onBatch(0, range(0, MESSAGES));
      await options().onRevoked!([0]);
      await stage.stop();
      const files = await readArchive(root);
      expectExactlyTheMessages(files);
      // Killed before its commit, the roll left nothing published: the new stage wrote all HOURS files itself.
      if (point === "create") expect(files.length).toBe(HOURS);
      // No temporary part file is left. (A create cut short by the kill can leave the local store's own hidden
      // ".<random>.tmp" beside them: never listed by readers, never published; the store does not clean those.)
      const left = (await store.list("_logbench/tmp/weblogs")).filter((f) => !f.name.startsWith("."));
      expect(left).toEqual([]);
    },
    120_000,
  );
});
