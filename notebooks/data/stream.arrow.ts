/**
 * stream.arrow — the LogEvents that reached the bus in the last N minutes before the build (default 15,
 * LOGBENCH_STREAM_MINUTES), read from every partition from the offset of that time on, as an Arrow IPC stream
 * with the columns of the daemon's /api/stream.arrow (the same encoder). The live page queries it with
 * DuckDB-wasm when the daemon cannot be reached.
 */
import { eventsToArrow, openBus, readStream, using } from "logbench";
import { runLoader } from "./_lib/loader.ts";

await runLoader("data/stream.arrow", async ({ config, ctx, env, now }) => {
  const minutes = Number(env.LOGBENCH_STREAM_MINUTES ?? 15);
  const { events } = await using(await openBus(config, ctx), (bus) =>
    readStream(bus, config.topic, { from: now - minutes * 60_000, to: now + 1 }),
  );
  return eventsToArrow(events);
});
