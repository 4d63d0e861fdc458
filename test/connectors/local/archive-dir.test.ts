import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createLocalArchive } from "../../../connectors/local/archive-dir.ts";
import { archiveStoreContract } from "../../contracts/archive-store.ts";

async function tempStore() {
  const dir = await mkdtemp(join(tmpdir(), "logbench-archive-"));
  const store = createLocalArchive({ type: "local", dir }, silentContext());
  return { dir, store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

archiveStoreContract("local folder", tempStore);

describe("local archive folder", () => {
  it("puts files where DuckDB can read them, in the Hive layout, with no temp file left behind", async () => {
    const { dir, store, cleanup } = await tempStore();
    try {
      await store.create("weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet", new TextEncoder().encode("PAR1"));
      expect(store.localDir).toBe(dir);
      expect(await readFile(join(dir, "weblogs", "dt=1995-07-01", "hour=00", "part-0-0-9.parquet"), "utf8")).toBe(
        "PAR1",
      );
      expect(await readdir(join(dir, "weblogs", "dt=1995-07-01", "hour=00"))).toEqual(["part-0-0-9.parquet"]);
    } finally {
      await cleanup();
    }
  });

  it("keeps the existing file when a create without overwrite loses the race", async () => {
    const { dir, store, cleanup } = await tempStore();
    try {
      const results = await Promise.allSettled(
        ["a", "b", "c", "d"].map((v) => store.create("race.parquet", new TextEncoder().encode(v))),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const winner = results.findIndex((r) => r.status === "fulfilled");
      expect(await readFile(join(dir, "race.parquet"), "utf8")).toBe(["a", "b", "c", "d"][winner]);
      expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it("sees files dropped into the folder by other tools", async () => {
    const { dir, store, cleanup } = await tempStore();
    try {
      await writeFile(join(dir, "external.csv"), "x,y\n");
      expect(await store.status("external.csv")).toMatchObject({ type: "FILE", length: 4 });
    } finally {
      await cleanup();
    }
  });
});
