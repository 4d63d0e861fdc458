/**
 * The contract every ArchiveStore passes (DESIGN §3, §4 "Archive, exactly once"): the archive writes
 * a file under a temporary name and renames it into place, lists partitions, and reads files back
 * byte for byte. Each test gets a fresh, empty store from `make`.
 */
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isLogbenchError } from "../../connectors/errors.ts";
import type { ArchiveStore } from "../../connectors/types.ts";

export interface ArchiveStoreFixture {
  store: ArchiveStore;
  cleanup(): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (isLogbenchError(err)) return err.code;
    throw err;
  }
  return "no error";
}

export function archiveStoreContract(name: string, make: () => Promise<ArchiveStoreFixture>): void {
  describe(`ArchiveStore contract: ${name}`, () => {
    let fixture: ArchiveStoreFixture;
    let store: ArchiveStore;
    beforeEach(async () => {
      fixture = await make();
      store = fixture.store;
    });
    afterEach(async () => {
      await store.close();
      await fixture.cleanup();
    });

    it("reads back exactly the bytes written, binary and empty files included", async () => {
      const every = Uint8Array.from({ length: 256 }, (_, i) => i);
      const big = new Uint8Array(randomBytes(3 * 1024 * 1024 + 17));
      await store.create("bin/every-byte", every);
      await store.create("bin/big", big);
      await store.create("bin/empty", new Uint8Array(0));
      expect(Buffer.from(await store.open("bin/every-byte")).equals(Buffer.from(every))).toBe(true);
      expect(Buffer.from(await store.open("bin/big")).equals(Buffer.from(big))).toBe(true);
      expect((await store.open("bin/empty")).length).toBe(0);
      expect((await store.status("bin/big"))?.length).toBe(big.length);
    });

    it("creates parent folders and refuses to replace a file unless told to overwrite", async () => {
      await store.create("a/b/c/file.txt", enc("first"));
      expect((await store.status("a/b"))?.type).toBe("DIRECTORY");
      expect(await codeOf(store.create("a/b/c/file.txt", enc("second")))).toBe("ALREADY_EXISTS");
      expect(dec(await store.open("a/b/c/file.txt"))).toBe("first");
      await store.create("a/b/c/file.txt", enc("third"), { overwrite: true });
      expect(dec(await store.open("a/b/c/file.txt"))).toBe("third");
      expect(await codeOf(store.create("a/b", enc("x"), { overwrite: true }))).toBe("ALREADY_EXISTS");
    });

    it("appends to an existing file and refuses to append to a missing one", async () => {
      await store.create("log.ndjson", enc("one\n"));
      await store.append("log.ndjson", enc("two\n"));
      await store.append("log.ndjson", enc("three\n"));
      expect(dec(await store.open("log.ndjson"))).toBe("one\ntwo\nthree\n");
      expect(await codeOf(store.append("missing.ndjson", enc("x")))).toBe("NOT_FOUND");
      expect(await store.status("missing.ndjson")).toBeNull();
    });

    it("answers NOT_FOUND when opening a missing file or a folder", async () => {
      expect(await codeOf(store.open("nope/missing.parquet"))).toBe("NOT_FOUND");
      await store.mkdirs("folder");
      expect(await codeOf(store.open("folder"))).toBe("NOT_FOUND");
    });

    it("renames a temporary file into place, creating the destination's parent", async () => {
      const data = enc("complete parquet bytes");
      await store.create("weblogs/_tmp/part-0-0-9.parquet.tmp", data);
      const final = "weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet";
      expect(await store.rename("weblogs/_tmp/part-0-0-9.parquet.tmp", final)).toBe(true);
      expect(await store.status("weblogs/_tmp/part-0-0-9.parquet.tmp")).toBeNull();
      expect(dec(await store.open(final))).toBe("complete parquet bytes");
      expect((await store.list("weblogs/dt=1995-07-01/hour=00")).map((f) => f.name)).toEqual(["part-0-0-9.parquet"]);
    });

    it("renames several files into the same new folder at once (partitions rolling together)", async () => {
      const names = [0, 1, 2, 3, 4, 5].map((p) => `part-${p}-0-9.parquet`);
      for (const n of names) await store.create(`_tmp/${n}.tmp`, enc(n));
      const moved = await Promise.all(
        names.map((n) => store.rename(`_tmp/${n}.tmp`, `weblogs/dt=1995-07-02/hour=11/${n}`)),
      );
      expect(moved).toEqual(names.map(() => true));
      expect((await store.list("weblogs/dt=1995-07-02/hour=11")).map((f) => f.name)).toEqual(names);
    });

    it("creates and renames with deferred durability, then syncs them: the same files, names and answers", async () => {
      const lazy = { durable: false };
      await store.create("tmp/one.tmp", enc("one"), lazy);
      await store.create("tmp/two.tmp", enc("two"), { ...lazy, overwrite: true });
      expect(await codeOf(store.create("tmp/one.tmp", enc("again"), lazy))).toBe("ALREADY_EXISTS");
      await store.sync(["tmp/one.tmp", "tmp/two.tmp"]);
      expect(await store.rename("tmp/one.tmp", "dt=x/hour=01/one", lazy)).toBe(true);
      expect(await store.rename("tmp/two.tmp", "dt=x/hour=02/two", lazy)).toBe(true);
      expect(await store.rename("tmp/one.tmp", "dt=x/hour=01/other", lazy)).toBe(false);
      expect(await codeOf(store.rename("dt=x/hour=02/two", "dt=x/hour=01/one", lazy))).toBe("ALREADY_EXISTS");
      // Paths renamed away or never there are skipped, folders are fine.
      await store.sync(["dt=x/hour=01/one", "dt=x/hour=02/two", "tmp/one.tmp", "missing/file", "dt=x"]);
      expect(dec(await store.open("dt=x/hour=01/one"))).toBe("one");
      expect(dec(await store.open("dt=x/hour=02/two"))).toBe("two");
      expect((await store.list("tmp")).map((f) => f.name)).toEqual([]);
    });

    it("returns false when the rename source is missing, without creating anything", async () => {
      expect(await store.rename("ghost.tmp", "somewhere/else/ghost.parquet")).toBe(false);
      expect(await store.status("somewhere")).toBeNull();
    });

    it("refuses to rename onto an existing file or folder, leaving both untouched", async () => {
      await store.create("src.tmp", enc("new"));
      await store.create("dst.parquet", enc("old"));
      expect(await codeOf(store.rename("src.tmp", "dst.parquet"))).toBe("ALREADY_EXISTS");
      expect(dec(await store.open("src.tmp"))).toBe("new");
      expect(dec(await store.open("dst.parquet"))).toBe("old");
      await store.mkdirs("taken");
      expect(await codeOf(store.rename("src.tmp", "taken"))).toBe("ALREADY_EXISTS");
      expect(await store.list("taken")).toEqual([]);
    });

    it("renames a whole folder", async () => {
      await store.create("staging/x/1.parquet", enc("1"));
      await store.create("staging/x/2.parquet", enc("22"));
      expect(await store.rename("staging/x", "published/x")).toBe(true);
      expect(await store.status("staging/x")).toBeNull();
      expect((await store.list("published/x")).map((f) => [f.name, f.length])).toEqual([
        ["1.parquet", 1],
        ["2.parquet", 2],
      ]);
    });

    it("lists direct children sorted by name, with paths relative to the root", async () => {
      await store.create("weblogs/dt=1995-07-02/hour=01/part-1-10-19.parquet", enc("abc"));
      await store.create("weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet", enc("abcd"));
      await store.create("weblogs/_SUCCESS", new Uint8Array(0));
      const top = await store.list("weblogs");
      expect(top.map((f) => [f.name, f.path, f.type])).toEqual([
        ["_SUCCESS", "weblogs/_SUCCESS", "FILE"],
        ["dt=1995-07-01", "weblogs/dt=1995-07-01", "DIRECTORY"],
        ["dt=1995-07-02", "weblogs/dt=1995-07-02", "DIRECTORY"],
      ]);
      const files = await store.list("weblogs/dt=1995-07-01/hour=00");
      expect(files).toHaveLength(1);
      expect(files[0]).toMatchObject({
        name: "part-0-0-9.parquet",
        path: "weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet",
        type: "FILE",
        length: 4,
      });
      expect((await store.list("")).map((f) => f.name)).toEqual(["weblogs"]);
      expect(await codeOf(store.list("no/such/folder"))).toBe("NOT_FOUND");
      expect(await codeOf(store.list("weblogs/_SUCCESS"))).toBe("BAD_REQUEST");
    });

    it("reports status of files and folders, null for missing paths", async () => {
      const before = Date.now();
      await store.create("s/file.bin", enc("12345"));
      const file = await store.status("s/file.bin");
      expect(file).toMatchObject({ path: "s/file.bin", name: "file.bin", type: "FILE", length: 5 });
      // Modification time is the store's clock (epoch ms), allow a little skew.
      expect(file!.modificationTime).toBeGreaterThanOrEqual(before - 5_000);
      expect(file!.modificationTime).toBeLessThanOrEqual(Date.now() + 5_000);
      expect(await store.status("s")).toMatchObject({ path: "s", name: "s", type: "DIRECTORY" });
      expect(await store.status("s/missing")).toBeNull();
      expect(await store.status("s/file.bin/below")).toBeNull();
    });

    it("makes nested folders, idempotently, and refuses where a file is", async () => {
      await store.mkdirs("m/n/o");
      await store.mkdirs("m/n/o");
      expect((await store.status("m/n/o"))?.type).toBe("DIRECTORY");
      expect(await store.list("m/n/o")).toEqual([]);
      await store.create("m/file", enc("x"));
      expect(await codeOf(store.mkdirs("m/file"))).toBe("ALREADY_EXISTS");
    });

    it("deletes files, empty folders, and full folders only when recursive", async () => {
      await store.create("d/full/a.parquet", enc("a"));
      await store.create("d/lone.parquet", enc("b"));
      await store.mkdirs("d/empty");
      expect(await store.delete("d/lone.parquet")).toBe(true);
      expect(await store.status("d/lone.parquet")).toBeNull();
      expect(await store.delete("d/lone.parquet")).toBe(false);
      expect(await store.delete("d/empty")).toBe(true);
      expect(await codeOf(store.delete("d/full"))).toBe("BAD_REQUEST");
      expect(dec(await store.open("d/full/a.parquet"))).toBe("a");
      expect(await store.delete("d/full", { recursive: true })).toBe(true);
      expect(await store.status("d/full")).toBeNull();
    });

    it("keeps names with '=', spaces and non-ASCII characters exact", async () => {
      const paths = [
        "weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet",
        "with space/a file (1).txt",
        "unicode/café-ünïcode.txt",
        "odd/a+b&c%20d#e?.txt",
      ];
      for (const p of paths) await store.create(p, enc(p));
      for (const p of paths) {
        expect(dec(await store.open(p))).toBe(p);
        const parent = p.slice(0, p.lastIndexOf("/"));
        expect((await store.list(parent)).map((f) => f.path)).toEqual([p]);
      }
    });

    it("rejects paths that would leave the root", async () => {
      expect(await codeOf(store.create("../escape.txt", enc("x")))).toBe("BAD_REQUEST");
      expect(await codeOf(store.open("a/../../etc/passwd"))).toBe("BAD_REQUEST");
      expect(await codeOf(store.create("/absolute.txt", enc("x")))).toBe("BAD_REQUEST");
    });

    it("never shows a reader a partial file under its final name", async () => {
      const data = new Uint8Array(randomBytes(2 * 1024 * 1024));
      await store.create("p/part.tmp", data);
      const seen: number[] = [];
      const reader = (async () => {
        for (let i = 0; i < 20; i++) {
          const st = await store.status("p/final.parquet");
          if (st) seen.push(st.length);
        }
      })();
      expect(await store.rename("p/part.tmp", "p/final.parquet")).toBe(true);
      await reader;
      expect(seen.every((n) => n === data.length)).toBe(true);
      expect((await store.open("p/final.parquet")).length).toBe(data.length);
    });
  });
}
