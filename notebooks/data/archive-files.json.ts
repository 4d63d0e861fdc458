/**
 * archive-files.json — every published Parquet file of the archive (HDFS or local) with its hour bucket, bus
 * partition, offset range and size, listed through the ArchiveStore.
 */
import { listArchive, openArchive, using } from "logbench";
import { runLoader, toJson } from "./_lib/loader.ts";

await runLoader("data/archive-files.json", async ({ config, ctx, now }) => {
  const opened = await openArchive(config, ctx);
  const files = await using(opened, (store) => listArchive(store, config.topic));
  return toJson({ builtAt: now, archive: opened.label, topic: config.topic, files });
});
