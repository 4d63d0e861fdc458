/**
 * archive.arrow — archived LogEvents of the newest days (default 7, LOGBENCH_ARCHIVE_DAYS; or the days from
 * LOGBENCH_ARCHIVE_FROM to LOGBENCH_ARCHIVE_TO, YYYY-MM-DD, inclusive) read from the Parquet files with DuckDB
 * and handed to the browser as Arrow IPC, which DuckDB-wasm reads without any extension.
 */
import {
  dayStart,
  eventsToArrow,
  listArchive,
  localPaths,
  openArchive,
  toLogEvents,
  using,
  utcDay,
  withEvents,
} from "logbench";
import { runLoader } from "./_lib/loader.ts";

const DAY = 86_400_000;

await runLoader("data/archive.arrow", async ({ config, ctx, env }) => {
  const opened = await openArchive(config, ctx);
  const events = await using(opened, async (store) => {
    const files = await listArchive(store, config.topic);
    const newest = files.at(-1)?.dt;
    if (!newest) return [];
    const to = env.LOGBENCH_ARCHIVE_TO ?? newest;
    const days = Number(env.LOGBENCH_ARCHIVE_DAYS ?? 7);
    const from = env.LOGBENCH_ARCHIVE_FROM ?? utcDay(dayStart(to) - (days - 1) * DAY);
    const chosen = files.filter((f) => f.dt >= from && f.dt <= to);
    const paths = await localPaths(config, store, chosen);
    return withEvents(paths, async (query) =>
      toLogEvents(
        await query(`SELECT * FROM events WHERE ts >= ${dayStart(from)} AND ts < ${dayStart(to) + DAY} ORDER BY ts`),
      ),
    );
  });
  return eventsToArrow(events);
});
