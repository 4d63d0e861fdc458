/**
 * Mirroring an HDFS archive into a local cache folder for DuckDB: only new or changed files are
 * copied, files gone remotely are removed locally, and what Hive readers skip is skipped.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { localRootOf, syncArchive } from "../../../connectors/archive-sync.ts";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import { createWebHdfsArchive } from "../../../connectors/webhdfs/archive-store.ts";
import { webhdfsArchiveSchema } from "../../../connectors/webhdfs/config.ts";
import { startWebHdfs, type WebHdfsTestServer } from "../../servers/webhdfs/server.ts";

let hdfs: WebHdfsTestServer;
let cache: string;
beforeAll(async () => {
  hdfs = await startWebHdfs();
  cache = await mkdtemp(join(tmpdir(), "logbench-sync-"));
});
afterAll(async () => {
  await hdfs.close();
  await rm(cache, { recursive: true, force: true });
});

const store = () =>
  createWebHdfsArchive(
    webhdfsArchiveSchema.parse({ type: "webhdfs", url: hdfs.url, root: "/archive" }),
    silentContext(),
  );
const bytes = (s: string) => new TextEncoder().encode(s);

async function localFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split("\\").join("/"))
    .sort();
}

describe("syncArchive", () => {
  it("copies the visible files of a prefix, then only what changed, and removes what is gone", async () => {
    const s = store();
    await s.create("weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet", bytes("first"));
    await s.create("weblogs/dt=1995-07-01/hour=01/part-0-10-19.parquet", bytes("second!"));
    await s.create("weblogs/dt=1995-07-01/hour=01/part-0-20-29.parquet.tmp", bytes("in progress"));
    await s.create("weblogs/_temporary/part-1-0-5.parquet", bytes("staging"));
    await s.create("weblogs/_SUCCESS", bytes(""));
    await s.create("weblogs/.hidden.parquet", bytes("x"));
    await s.create("weblogs/notes.txt", bytes("not parquet"));
    await s.create("other/part-9-0-0.parquet", bytes("other topic"));
    const dir = join(cache, "weblogs");

    expect(await syncArchive(s, "weblogs", dir, { suffix: ".parquet" })).toEqual({ files: 2, bytes: 12, copied: 2 });
    expect(await localFiles(dir)).toEqual([
      "dt=1995-07-01/hour=00/part-0-0-9.parquet",
      "dt=1995-07-01/hour=01/part-0-10-19.parquet",
    ]);
    expect(await readFile(join(dir, "dt=1995-07-01", "hour=01", "part-0-10-19.parquet"), "utf8")).toBe("second!");

    expect((await syncArchive(s, "weblogs", dir, { suffix: ".parquet" })).copied).toBe(0);

    await s.create("weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet", bytes("rewritten"), { overwrite: true });
    await s.delete("weblogs/dt=1995-07-01/hour=01", { recursive: true });
    await s.create("weblogs/dt=1995-07-02/hour=00/part-0-30-39.parquet", bytes("new"));
    expect(await syncArchive(s, "weblogs", dir, { suffix: ".parquet" })).toEqual({ files: 2, bytes: 12, copied: 2 });
    expect(await localFiles(dir)).toEqual([
      "dt=1995-07-01/hour=00/part-0-0-9.parquet",
      "dt=1995-07-02/hour=00/part-0-30-39.parquet",
    ]);
    expect(await readdir(join(dir, "dt=1995-07-01"))).toEqual(["hour=00"]);
    expect(await readFile(join(dir, "dt=1995-07-01", "hour=00", "part-0-0-9.parquet"), "utf8")).toBe("rewritten");
  });

  it("treats a missing prefix as an empty archive and empties the cache", async () => {
    const dir = join(cache, "empty");
    await rm(dir, { recursive: true, force: true });
    await syncArchive(store(), "weblogs", dir);
    expect((await localFiles(dir)).length).toBeGreaterThan(0);
    await writeFile(join(dir, "stray.parquet"), "x");
    expect(await syncArchive(store(), "no-such-topic", dir)).toEqual({ files: 0, bytes: 0, copied: 0 });
    expect(await localFiles(dir)).toEqual([]);
  });

  it("fails with the store's error code when the archive cannot be read", async () => {
    hdfs.faults.failNext({
      op: "LISTSTATUS",
      status: 403,
      exception: "AccessControlException",
      message: "Permission denied",
    });
    await expect(syncArchive(store(), "weblogs", join(cache, "denied"))).rejects.toMatchObject({ code: "PERMISSION" });
  });
});

describe("localRootOf", () => {
  it("gives a local store's folder, and null for a remote one", async () => {
    const dir = await mkdtemp(join(tmpdir(), "logbench-local-"));
    try {
      expect(localRootOf(createLocalArchive({ type: "local", dir }, silentContext()))).toBe(dir);
      expect(localRootOf(store())).toBeNull();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
