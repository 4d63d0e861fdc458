/**
 * The ArchiveStore contract on HDFS through WebHDFS, against the shared test server of the run
 * (test/servers/webhdfs/global.ts); each store lives in its own random root folder there.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createWebHdfsArchive } from "../../../connectors/webhdfs/archive-store.ts";
import { WebHdfsClient } from "../../../connectors/webhdfs/client.ts";
import { webhdfsArchiveSchema } from "../../../connectors/webhdfs/config.ts";
import { archiveStoreContract } from "../../contracts/archive-store.ts";
import { startWebHdfs, type WebHdfsTestServer } from "../../servers/webhdfs/server.ts";

function sharedUrl(): string {
  const url = inject("webhdfsUrl");
  if (!url) throw new Error("No WebHDFS test server: test/servers/webhdfs/global.ts did not provide webhdfsUrl");
  return url;
}

archiveStoreContract("webhdfs", async () => {
  const url = sharedUrl();
  const root = `/contract-${randomBytes(6).toString("hex")}`;
  const config = webhdfsArchiveSchema.parse({ type: "webhdfs", url, root, user: "logbench", retryBackoff: "10ms" });
  return {
    store: createWebHdfsArchive(config, silentContext()),
    cleanup: async () => {
      await new WebHdfsClient({ url, user: "logbench" }).delete(root, { recursive: true });
    },
  };
});

describe("WebHDFS archive store", () => {
  let hdfs: WebHdfsTestServer;
  beforeAll(async () => {
    hdfs = await startWebHdfs();
  });
  afterAll(async () => {
    await hdfs.close();
  });

  it("writes under config.root on HDFS, as the configured user, in two steps with no data to the NameNode", async () => {
    const config = webhdfsArchiveSchema.parse({ type: "webhdfs", url: hdfs.url, root: "/data/logbench", user: "etl" });
    const store = createWebHdfsArchive(config, silentContext());
    const before = hdfs.requests.length;
    await store.create("weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet", new TextEncoder().encode("PAR1"));
    const sent = hdfs.requests.slice(before);
    expect(sent.map((r) => [r.node, r.op, r.status, r.bodyBytes])).toEqual([
      ["namenode", "CREATE", 307, 0],
      ["datanode", "CREATE", 201, 4],
    ]);
    expect(sent[0]!.path).toBe("/data/logbench/weblogs/dt=1995-07-01/hour=00/part-0-0-9.parquet");
    expect(sent.every((r) => r.query["user.name"] === "etl")).toBe(true);
    expect(store.root).toBe(`webhdfs://${new URL(hdfs.url).host}/data/logbench`);
    const st = (await new WebHdfsClient({ url: hdfs.url }).getFileStatus("/data/logbench/weblogs")).owner;
    expect(st).toBe("etl");
  });

  it("reads the delegation token from delegationTokenFile and sends it instead of user.name", async () => {
    const secure = await startWebHdfs({ delegationTokens: { "file-token-42": "svc" } });
    const dir = await mkdtemp(join(tmpdir(), "logbench-token-"));
    try {
      await writeFile(join(dir, "hdfs.token"), "file-token-42\n");
      const config = webhdfsArchiveSchema.parse({
        type: "webhdfs",
        url: secure.url,
        root: "/a",
        delegationTokenFile: join(dir, "hdfs.token"),
      });
      const store = createWebHdfsArchive(config, silentContext());
      await store.mkdirs("x");
      expect(secure.requests.at(-1)!.query).toMatchObject({ delegation: "file-token-42" });
      expect(secure.requests.at(-1)!.query["user.name"]).toBeUndefined();
      expect((await store.status("x"))?.type).toBe("DIRECTORY");
    } finally {
      await secure.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a rename whose answer is lost still reports true when HDFS did it", async () => {
    const config = webhdfsArchiveSchema.parse({ type: "webhdfs", url: hdfs.url, root: "/lost", retryBackoff: "5ms" });
    const store = createWebHdfsArchive(config, silentContext());
    await store.create("tmp/part.tmp", new TextEncoder().encode("x"));
    await store.mkdirs("final");
    hdfs.faults.loseResponse({ op: "RENAME" });
    const before = hdfs.requests.length;
    expect(await store.rename("tmp/part.tmp", "final/part.parquet")).toBe(true);
    expect(hdfs.requests.slice(before).map((r) => (r.op === "RENAME" ? r.status : r.op))).toEqual([
      "GETFILESTATUS", // is the destination free?
      "lost", // HDFS renamed, the answer never came
      200, // the retry finds no source: false…
      "GETFILESTATUS",
      "GETFILESTATUS", // …but the source is gone and the destination there, so it was done
    ]);
    expect(new TextDecoder().decode(await store.open("final/part.parquet"))).toBe("x");
  });
});
