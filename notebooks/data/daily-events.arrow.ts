/**
 * daily-events.arrow — the reported day's events, the day before's and the week before's, each with the columns
 * the report's panels group by (UTC day and hour, GoAccess's request key, static flag, browser and OS family,
 * referring site, visitor key), as Arrow IPC for DuckDB-wasm in reports/daily.md.
 */
import { classifyAgent, reportDataset, withCatalog } from "logbench";
import { loadDaily } from "./_lib/daily.ts";
import { runLoader } from "./_lib/loader.ts";

await runLoader("data/daily-events.arrow", async (env) => {
  const { data } = await loadDaily(env);
  if (data) return data.dataset.arrow;
  // An empty archive still gives DuckDB-wasm the table, with its columns and no rows.
  const empty = await withCatalog(
    env.config,
    env.ctx,
    (conn) => reportDataset(conn, { from: 0, to: 0, classify: classifyAgent }),
    { tables: ["events"] },
  );
  return empty.arrow;
});
