/**
 * What the daily report's two loaders share: which UTC day is reported (LOGBENCH_REPORT_DAY, YYYY-MM-DD, else the
 * newest archived day) and its data, with the day before and the week before, computed by `dailyReportData`
 * (the same panels' definitions as `logbench report`).
 */
import {
  classifyAgent,
  type DailyReportData,
  dailyReportData,
  dayStart,
  listArchive,
  openArchive,
  using,
  withCatalog,
} from "logbench";
import type { LoaderEnv } from "./loader.ts";

export interface Daily {
  /** YYYY-MM-DD, null when the archive holds nothing. */
  day: string | null;
  archive: string;
  /** Archived files of the three days compared. */
  files: Array<{ path: string; bytes: number }>;
  data: DailyReportData | null;
}

const DAY = 86_400_000;

export async function loadDaily({ config, ctx, env }: LoaderEnv): Promise<Daily> {
  const opened = await openArchive(config, ctx);
  const listed = await using(opened, (store) => listArchive(store, config.topic));
  const day = env.LOGBENCH_REPORT_DAY ?? listed.at(-1)?.dt ?? null;
  if (!day) return { day: null, archive: opened.label, files: [], data: null };
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new Error(`LOGBENCH_REPORT_DAY: expected YYYY-MM-DD, got "${day}"`);
  const start = dayStart(day);
  const compared = new Set([0, 1, 7].map((k) => new Date(start - k * DAY).toISOString().slice(0, 10)));
  const data = await withCatalog(config, ctx, (conn) => dailyReportData(conn, start, classifyAgent), {
    tables: ["events", "dead_letters"],
  });
  const files = listed.filter((f) => compared.has(f.dt)).map((f) => ({ path: f.path, bytes: f.bytes }));
  return { day, archive: opened.label, files, data };
}
