/**
 * windows.json — the newest windows (default 60, LOGBENCH_WINDOWS) as the live page shows them, rebuilt from
 * the series store. The live page falls back to this snapshot when the daemon's API cannot be reached, which
 * is always the case for a published static build.
 */
import { MEASUREMENTS, openSeries, type SeriesStore, using, windowLabel, windowsFromPoints } from "logbench";
import { runLoader, toJson } from "./_lib/loader.ts";

const DAY = 86_400_000;

await runLoader("data/windows.json", async ({ config, ctx, env, now }) => {
  const limit = Number(env.LOGBENCH_WINDOWS ?? 60);
  const tags = { window: windowLabel(config.aggregator.window) };
  const opened = await openSeries(config, ctx);
  const windows = await using(opened, async (store: SeriesStore) => {
    // Recent windows first; a store filled by replaying old logs has its newest window long ago.
    let requests = await store.query({ measurement: MEASUREMENTS.requests, from: now - DAY, tags });
    if (requests.length === 0) requests = await store.query({ measurement: MEASUREMENTS.requests, tags });
    const starts = [...new Set(requests.map((p) => p.time))].sort((a, b) => b - a).slice(0, limit);
    const from = starts.at(-1) ?? now;
    const keep = new Set(starts);
    const inRange = (measurement: string) => store.query({ measurement, from, tags });
    return windowsFromPoints(
      {
        requests: requests.filter((p) => keep.has(p.time)),
        byMethod: await inRange(MEASUREMENTS.byMethod),
        byStatus: await inRange(MEASUREMENTS.byStatus),
        topPaths: await inRange(MEASUREMENTS.topPaths),
        topHosts: await inRange(MEASUREMENTS.topHosts),
        // Unique hosts and top-k merged from the stored summaries: a host seen by two sources counts once.
        sketches: await inRange(MEASUREMENTS.sketches),
      },
      { windowMs: config.aggregator.window, latenessMs: config.aggregator.lateness, topK: config.aggregator.topK },
    );
  });
  return toJson({ builtAt: now, source: opened.label, windows });
});
