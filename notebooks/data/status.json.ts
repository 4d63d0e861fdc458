/**
 * status.json — the build-time snapshot of what the index page shows live from the daemon's /api/status:
 * messages and dead letters on the bus, consumer lag per group, the newest archived hour, the series measured.
 * The same helpers as the API compute lag and the newest partition, so both agree.
 */
import { isLogbenchError } from "../../connectors/errors.ts";
import type { Bus } from "../../connectors/types.ts";
import { consumerLag, newestArchivePartition } from "../../pipeline/api/status.ts";
import { listArchive } from "./_lib/archive.ts";
import { runLoader, toJson } from "./_lib/loader.ts";
import { openArchive, openBus, openSeries, using } from "./_lib/sources.ts";

/** Messages currently held by a topic, over all partitions (0 for a topic not created yet). */
async function held(bus: Bus, topic: string): Promise<number> {
  try {
    return (await bus.partitions(topic)).reduce((sum, p) => sum + (p.high - p.low), 0);
  } catch (err) {
    if (isLogbenchError(err, "NOT_FOUND")) return 0;
    throw err;
  }
}

await runLoader("data/status.json", async ({ config, ctx, now }) => {
  const groups = [
    ...(config.archiver.enabled ? [config.archiver.group] : []),
    ...(config.aggregator.enabled ? [config.aggregator.group] : []),
  ];
  const bus = await using(await openBus(config, ctx), async (b) => ({
    events: await held(b, config.topic),
    deadLetters: await held(b, config.deadLetters.topic),
    consumerLag: await consumerLag(b, config.topic, groups).catch((err) => {
      if (isLogbenchError(err, "NOT_FOUND")) return Object.fromEntries(groups.map((g) => [g, 0]));
      throw err;
    }),
  }));
  const archive = await using(await openArchive(config, ctx), async (a) => {
    const files = await listArchive(a, config.topic);
    return {
      newestArchivePartition: await newestArchivePartition(a, config.topic),
      archiveFiles: files.length,
      archiveBytes: files.reduce((sum, f) => sum + f.bytes, 0),
    };
  });
  const measurements = await using(await openSeries(config, ctx), (s) => s.measurements());
  return toJson({ builtAt: now, ...bus, ...archive, measurements });
});
