/** Archive names: what the writer names, the readers parse back, and nothing else parses. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  bucketKey,
  bucketOf,
  dayDirName,
  finalPath,
  isWalTmpName,
  PART_FILE_GLOB,
  PART_FILE_NAME,
  parseDayDir,
  parseFinalName,
  parseHourDir,
  parsePartName,
  parseWalEntryName,
  tmpPath,
  walEntryPath,
  walTmpPath,
} from "../../../pipeline/archive/layout.ts";

const offsets = fc.tuple(fc.nat(1000), fc.nat(2 ** 40), fc.nat(2 ** 40));

describe("archive layout", () => {
  it("names a bucket by its UTC day and hour", () => {
    const b = bucketOf(Date.UTC(1995, 6, 1, 4, 59, 59, 999));
    expect(b).toEqual({ dt: "1995-07-01", hour: "04" });
    expect(bucketKey(b)).toBe("dt=1995-07-01/hour=04");
    const [day, hour] = bucketKey(b).split("/") as [string, string];
    expect([parseDayDir(day), parseHourDir(hour)]).toEqual(["1995-07-01", "04"]);
    expect(dayDirName("1995-07-02")).toBe("dt=1995-07-02");
    expect([parseDayDir("hour=04"), parseHourDir("dt=1995-07-01"), parseDayDir("_logbench")]).toEqual([
      null,
      null,
      null,
    ]);
    expect(PART_FILE_GLOB.join("/")).toBe("dt=*/hour=*/*.parquet");
  });

  it("parses back the partition and offsets of every final and temporary name it makes", () => {
    fc.assert(
      fc.property(offsets, fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }), ([p, a, b], d) => {
        const bucket = bucketKey(bucketOf(d.getTime()));
        const final = finalPath("weblogs", bucket, p, a, b);
        const tmp = tmpPath("weblogs", bucket, p, a, b);
        expect(final).toBe(`weblogs/${bucket}/part-${p}-${a}-${b}.parquet`);
        expect(tmp.startsWith("_logbench/tmp/weblogs/")).toBe(true);
        const finalName = final.split("/").at(-1)!;
        const tmpName = tmp.split("/").at(-1)!;
        expect(parseFinalName(finalName)).toEqual({ partition: p, first: a, last: b });
        expect(PART_FILE_NAME.test(finalName)).toBe(true);
        expect(parsePartName(tmpName)).toEqual({ partition: p, first: a, last: b });
        expect(parseFinalName(tmpName)).toBeNull(); // readers never take a file being written for a published one
      }),
    );
  });

  it("rejects names that are not part files", () => {
    for (const name of ["part-1-2.parquet", "part-a-1-2.parquet", "part-1-2-3.parquet.crc", "x-part-1-2-3.parquet"]) {
      expect(parsePartName(name)).toBeNull();
    }
  });

  it("names write-ahead-log entries and tells committed ones from temporary ones", () => {
    expect(walEntryPath("weblogs", 3, 41)).toBe("_logbench/wal/weblogs/3/41.json");
    expect(walTmpPath("weblogs", 3, 41)).toBe("_logbench/wal/weblogs/3/41.json.tmp");
    expect(parseWalEntryName("41.json")).toBe(41);
    for (const name of ["41.json.tmp", "x.json", "41.jsonl"]) expect(parseWalEntryName(name)).toBeNull();
    expect(isWalTmpName("41.json.tmp")).toBe(true);
    expect(isWalTmpName("41.json")).toBe(false);
  });
});
