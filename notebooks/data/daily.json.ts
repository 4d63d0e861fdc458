/**
 * daily.json — the daily report's stamp and definitions: the reported UTC day (LOGBENCH_REPORT_DAY, YYYY-MM-DD,
 * else the newest archived day), the days it is compared with, the data's time range, the dead letters per day,
 * the build time, and the panels as SQL over daily-events.arrow (the definitions `logbench report` uses).
 */
import { PANEL_DEFS } from "logbench";
import { loadDaily } from "./_lib/daily.ts";
import { runLoader, toJson } from "./_lib/loader.ts";

await runLoader("data/daily.json", async (env) => {
  const daily = await loadDaily(env);
  const d = daily.data;
  return toJson({
    builtAt: env.now,
    config: env.configLabel,
    archive: daily.archive,
    topic: env.config.topic,
    day: daily.day,
    days: d ? { day: d.day, prevDay: d.prevDay, weekAgo: d.weekAgo } : null,
    failed: d?.failed ?? {},
    range: d ? { first: d.dataset.firstTs, last: d.dataset.lastTs, events: d.dataset.rows } : null,
    files: daily.files,
    panels: PANEL_DEFS,
  });
});
