/** What a restarted archiver trusts: the archive, its write-ahead log, and nothing half-written. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext, silentLogger } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import type { ArchiveStore } from "../../../connectors/types.ts";
import { bucketOf, finalPath, parsePartName, tmpPath, walDir } from "../../../pipeline/archive/layout.ts";
import { highestArchivedOffset, recoverPartition } from "../../../pipeline/archive/recovery.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

function store(): ArchiveStore {
  return createLocalArchive({ type: "local", dir: mkdtempSync(join(tmpdir(), "logbench-recovery-")) }, silentContext());
}

async function exists(s: ArchiveStore, path: string) {
  return (await s.status(path)) !== null;
}

describe("archive layout", () => {
  it("buckets by event time in UTC and names files by partition and offset range", () => {
    // 01/Jul/1995:23:30:00 -0400 is 03:30 UTC on 2 July.
    expect(bucketOf(Date.UTC(1995, 6, 2, 3, 30))).toEqual({ dt: "1995-07-02", hour: "03" });
    expect(finalPath("weblogs", "dt=1995-07-02/hour=03", 2, 100, 199)).toBe(
      "weblogs/dt=1995-07-02/hour=03/part-2-100-199.parquet",
    );
    expect(parsePartName("part-2-100-199.parquet")).toEqual({ partition: 2, first: 100, last: 199 });
    expect(parsePartName(tmpPath("weblogs", "dt=1995-07-02/hour=03", 2, 100, 199).split("/").at(-1)!)).toEqual({
      partition: 2,
      first: 100,
      last: 199,
    });
    expect(parsePartName("part-2-100.parquet")).toBeNull();
  });
});

describe("recoverPartition", () => {
  it("finishes the renames of a committed roll and resumes after its last offset", async () => {
    const s = store();
    const files = [
      {
        tmp: tmpPath("weblogs", "dt=1995-07-01/hour=04", 1, 10, 19),
        final: finalPath("weblogs", "dt=1995-07-01/hour=04", 1, 10, 19),
      },
      {
        tmp: tmpPath("weblogs", "dt=1995-07-01/hour=05", 1, 12, 25),
        final: finalPath("weblogs", "dt=1995-07-01/hour=05", 1, 12, 25),
      },
    ];
    for (const f of files) await s.create(f.tmp, bytes(f.final));
    // The crash came after the log entry and the first rename.
    await s.rename(files[0]!.tmp, files[0]!.final);
    await s.create(
      `${walDir("weblogs", 1)}/25.json`,
      bytes(JSON.stringify({ partition: 1, first: 10, last: 25, files })),
    );
    expect(await recoverPartition(s, "weblogs", 1, silentLogger)).toBe(26);
    for (const f of files) {
      expect(await exists(s, f.final)).toBe(true);
      expect(await exists(s, f.tmp)).toBe(false);
    }
    expect(new TextDecoder().decode(await s.open(files[1]!.final))).toBe(files[1]!.final);
  });

  it("drops temporary files of a roll that never committed, and resumes from the previous roll", async () => {
    const s = store();
    const done = finalPath("weblogs", "dt=1995-07-01/hour=04", 0, 0, 9);
    await s.create(done, bytes("committed"));
    await s.create(
      `${walDir("weblogs", 0)}/9.json`,
      bytes(JSON.stringify({ partition: 0, first: 0, last: 9, files: [] })),
    );
    const orphan = tmpPath("weblogs", "dt=1995-07-01/hour=04", 0, 10, 19);
    const otherPartition = tmpPath("weblogs", "dt=1995-07-01/hour=04", 2, 10, 19);
    await s.create(orphan, bytes("uncommitted"));
    await s.create(otherPartition, bytes("not ours"));
    await s.create(`${walDir("weblogs", 0)}/19.json.tmp`, bytes("{half"));
    expect(await recoverPartition(s, "weblogs", 0, silentLogger)).toBe(10);
    expect(await exists(s, orphan)).toBe(false);
    expect(await exists(s, `${walDir("weblogs", 0)}/19.json.tmp`)).toBe(false);
    expect(await exists(s, otherPartition)).toBe(true);
    expect(await exists(s, done)).toBe(true);
  });

  it("without a log, resumes after the highest offset in the partition's file names", async () => {
    const s = store();
    await s.create(finalPath("weblogs", "dt=1995-07-01/hour=04", 0, 0, 41), bytes("a"));
    await s.create(finalPath("weblogs", "dt=1995-07-02/hour=00", 0, 42, 77), bytes("b"));
    await s.create(finalPath("weblogs", "dt=1995-07-02/hour=00", 1, 0, 500), bytes("c"));
    expect(await highestArchivedOffset(s, "weblogs", 0)).toBe(77);
    expect(await recoverPartition(s, "weblogs", 0, silentLogger)).toBe(78);
    expect(await recoverPartition(s, "weblogs", 3, silentLogger)).toBe(0);
  });
});
