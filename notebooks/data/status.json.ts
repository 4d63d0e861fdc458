/**
 * status.json — the build-time snapshot of what the index page shows live from the daemon's /api/status:
 * the event rate on the bus in the last minute, dead letters, consumer lag per group (computed by the API's
 * own helper, in the bus's offset unit: messages on Kafka, bytes on the local log), the newest archived hour
 * and the measurements in the series store. Counts come from reading messages, never from offset arithmetic,
 * because the local log's offsets are byte positions.
 */
import {
  type Bus,
  consumerLag,
  isLogbenchError,
  listArchive,
  newestArchivePartition,
  openArchive,
  openBus,
  openSeries,
  using,
} from "logbench";
import { runLoader, toJson } from "./_lib/loader.ts";

/** Messages that reached a topic in [from, to); 0 for a topic not created yet. */
async function count(bus: Bus, topic: string, from: number, to: number): Promise<number> {
  try {
    return (await bus.readWindow(topic, { from, to })).length;
  } catch (err) {
    if (isLogbenchError(err, "NOT_FOUND")) return 0;
    throw err;
  }
}

await runLoader("data/status.json", async ({ config, ctx, env, now }) => {
  const minutes = Number(env.LOGBENCH_STREAM_MINUTES ?? 15);
  const groups = [
    ...(config.archiver.enabled ? [config.archiver.group] : []),
    ...(config.aggregator.enabled ? [config.aggregator.group] : []),
  ];
  const bus = await using(await openBus(config, ctx), async (b) => ({
    eventsPerSec: (await count(b, config.topic, now - 60_000, now + 1)) / 60,
    recentEvents: await count(b, config.topic, now - minutes * 60_000, now + 1),
    recentMinutes: minutes,
    deadLetters: await count(b, config.deadLetters.topic, 0, now + 1),
    consumerLag: await consumerLag(b, config.topic, groups).catch((err) => {
      if (isLogbenchError(err, "NOT_FOUND")) return Object.fromEntries(groups.map((g) => [g, 0]));
      throw err;
    }),
    lagUnit: b.offsetUnit,
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
