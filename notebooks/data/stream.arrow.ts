/**
 * stream.arrow — the LogEvents that reached the bus in the last N minutes before the build (default 15,
 * LOGBENCH_STREAM_MINUTES), read from every partition from the offset of that time on, as an Arrow IPC stream
 * with the columns of the daemon's /api/stream.arrow (the same encoder). The live page queries it with
 * DuckDB-wasm when the daemon cannot be reached.
 */
import { eventsToArrow } from "../../pipeline/api/arrow.ts";
import type { LogEvent } from "../../pipeline/model/log-event.ts";
import { runLoader } from "./_lib/loader.ts";
import { openBus, using } from "./_lib/sources.ts";

await runLoader("data/stream.arrow", async ({ config, ctx, env, now }) => {
  const minutes = Number(env.LOGBENCH_STREAM_MINUTES ?? 15);
  const messages = await using(await openBus(config, ctx), (bus) =>
    bus.readWindow(config.topic, { from: now - minutes * 60_000, to: now + 1 }),
  );
  const decoder = new TextDecoder();
  const events = messages.map((m) => JSON.parse(decoder.decode(m.value)) as LogEvent);
  return eventsToArrow(events);
});
