/**
 * daily.json — the daily traffic report's panels (the ones GoAccess users expect), computed by DuckDB over the
 * archived Parquet files of one UTC day: LOGBENCH_REPORT_DAY (YYYY-MM-DD), else the newest archived day.
 * Each panel carries the SQL that produced it, written against the `events` view, so a reader can rerun it
 * with `logbench query` and get the same rows.
 */
import { dayStart, listArchive, localPaths, openArchive, using, withEvents } from "logbench";
import { runLoader, toJson } from "./_lib/loader.ts";

const DAY = 86_400_000;

/** Panel id → title and query; `DAY` stands for the day's time filter. */
const PANELS: Array<{ id: string; title: string; sql: string }> = [
  {
    id: "totals",
    title: "Totals",
    sql: `SELECT count(*) AS requests, count(DISTINCT host) AS hosts, coalesce(sum(bytes), 0) AS bytes,
  count(*) FILTER (WHERE status = 404) AS not_found, min(ts) AS first_ts, max(ts) AS last_ts FROM events WHERE DAY`,
  },
  {
    id: "hourly",
    title: "Requests and unique hosts per hour (UTC)",
    sql: `SELECT hour(epoch_ms(ts)) AS hour, count(*) AS requests, count(DISTINCT host) AS hosts,
  coalesce(sum(bytes), 0) AS bytes FROM events WHERE DAY GROUP BY 1 ORDER BY 1`,
  },
  {
    id: "topPaths",
    title: "Top requested paths",
    sql: `SELECT path, count(*) AS requests, coalesce(sum(bytes), 0) AS bytes FROM events WHERE DAY
  GROUP BY path ORDER BY requests DESC, path LIMIT 10`,
  },
  {
    id: "notFound",
    title: "Not-found paths (404)",
    sql: `SELECT path, count(*) AS requests FROM events WHERE DAY AND status = 404
  GROUP BY path ORDER BY requests DESC, path LIMIT 10`,
  },
  {
    id: "topHosts",
    title: "Top hosts",
    sql: `SELECT host, count(*) AS requests, coalesce(sum(bytes), 0) AS bytes FROM events WHERE DAY
  GROUP BY host ORDER BY requests DESC, host LIMIT 10`,
  },
  {
    id: "statuses",
    title: "Status codes",
    sql: `SELECT status, count(*) AS requests FROM events WHERE DAY GROUP BY status ORDER BY requests DESC, status`,
  },
  {
    id: "methods",
    title: "Methods",
    sql: `SELECT method, count(*) AS requests FROM events WHERE DAY GROUP BY method ORDER BY requests DESC, method`,
  },
  {
    id: "busiestMinutes",
    title: "Busiest minutes",
    sql: `SELECT strftime(date_trunc('minute', epoch_ms(ts)), '%H:%M') AS minute, count(*) AS requests
  FROM events WHERE DAY GROUP BY 1 ORDER BY requests DESC, minute LIMIT 10`,
  },
];

await runLoader("data/daily.json", async ({ config, configLabel, ctx, env, now }) => {
  const opened = await openArchive(config, ctx);
  const report = await using(opened, async (store) => {
    const all = await listArchive(store, config.topic);
    const day = env.LOGBENCH_REPORT_DAY ?? all.at(-1)?.dt ?? null;
    if (!day) return { day: null, files: [], panels: [] };
    const start = dayStart(day);
    const files = all.filter((f) => f.dt === day);
    const paths = await localPaths(config, store, files);
    const filter = `ts >= ${start} AND ts < ${start + DAY}`;
    const panels = await withEvents(paths, async (query) => {
      const out = [];
      for (const panel of PANELS) {
        const sql = panel.sql.replace("DAY", filter);
        out.push({ ...panel, sql, rows: await query(sql) });
      }
      return out;
    });
    return { day, files: files.map((f) => ({ path: f.path, bytes: f.bytes })), panels };
  });
  return toJson({ builtAt: now, config: configLabel, archive: opened.label, topic: config.topic, ...report });
});
