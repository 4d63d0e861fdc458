/**
 * The report's panels over the catalog (`events` and `dead_letters` views), in GoAccess's JSON report shape.
 * Per-row values DuckDB cannot compute as GoAccess does (the %XX-decoded request key, the agent's families) are
 * computed in TS once per distinct value and joined back as tables.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBConnection } from "../../connectors/duckdb/connection.ts";
import { queryRows, quoteLiteral } from "../../connectors/duckdb/connection.ts";
import type { AgentClass } from "./agents.ts";
import { isStatic, referringSite, requestKey, statusClass, timeOfRawLine } from "./definitions.ts";

const STATUS_CLASS_SQL = `CASE CAST(floor(e.status / 100) AS INTEGER) ${[1, 2, 3, 4, 5]
  .map((c) => `WHEN ${c} THEN ${quoteLiteral(statusClass(c * 100))}`)
  .join(" ")} ELSE 'Unknown' END`;

/** A count and its share of the total, the share as GoAccess writes it ("04.88"). */
export interface Metric {
  count: number;
  percent: string;
}
/** One row of a panel. */
export interface ReportItem {
  data: string;
  hits: Metric;
  visitors: Metric;
  bytes: Metric;
  method?: string;
  protocol?: string;
  items?: ReportItem[];
}
/** A panel: its rows (at most `maxItems`, sorted by hits) and how many there are in all. */
export interface Panel {
  metadata: { data: { total: { value: number } } };
  data: ReportItem[];
}
export const PANELS = [
  "visitors",
  "requests",
  "static_requests",
  "not_found",
  "hosts",
  "os",
  "browsers",
  "visit_time",
  "referring_sites",
  "referrers",
  "status_codes",
] as const;
export type PanelName = (typeof PANELS)[number];

export interface Report {
  general: {
    start_date: string;
    end_date: string;
    date_time: string;
    total_requests: number;
    valid_requests: number;
    failed_requests: number;
    unique_visitors: number;
    unique_files: number;
    unique_static_files: number;
    unique_not_found: number;
    unique_referrers: number;
    bandwidth: number;
    /** What failed_requests counts, and the dead letters it could not place in time. */
    failed_requests_note: string;
    failed_without_time: number;
    /** Requests under "Crawlers" only because isbot names their agent (GoAccess may file them elsewhere). */
    crawlers_isbot_only: number;
    crawlers_note: string;
  };
  panels: Record<PanelName, Panel>;
}

export interface ReportRange {
  /** Epoch ms, inclusive. */
  from: number;
  /** Epoch ms, exclusive. */
  to: number;
  /** Rows per panel (GoAccess's max-items for JSON is 366). */
  maxItems?: number;
  /** The agent classifier (agents.ts's classifyAgent; loaded by the caller, as ua-parser-js is heavy). */
  classify: (agent: string) => AgentClass;
}

const pct = (n: number, total: number) => (total > 0 ? ((n * 100) / total).toFixed(2).padStart(5, "0") : "00.00");

/**
 * One panel as SQL over the enriched table `r`: the row key, which events it counts, and the version-level
 * `items` (os, browsers, status codes). The notebooks' daily report runs the same definitions in DuckDB-wasm.
 */
export interface PanelDef {
  id: PanelName;
  title: string;
  key: string;
  where: string;
  /** The key of the rows nested under each row (`items`). */
  sub?: string;
  /** Sorted by `data` descending (days, hours), as GoAccess sorts these panels. */
  byData?: boolean;
  /** Rows carry `method` and `protocol` (request panels). */
  request?: boolean;
}

export const PANEL_DEFS: readonly PanelDef[] = Object.freeze([
  { id: "visitors", title: "Unique visitors per day", key: "day", where: "true", byData: true },
  { id: "requests", title: "Requested files", key: "req", where: "status <> 404 AND NOT static", request: true },
  { id: "static_requests", title: "Static requests", key: "req", where: "status <> 404 AND static", request: true },
  { id: "not_found", title: "Not found URLs (404s)", key: "req", where: "status = 404", request: true },
  { id: "hosts", title: "Visitor hostnames and IPs", key: "host", where: "true" },
  { id: "os", title: "Operating systems", key: "os", where: "true", sub: "os_item" },
  { id: "browsers", title: "Browsers", key: "browser", where: "true", sub: "browser_item" },
  { id: "visit_time", title: "Time distribution (UTC hour)", key: "hour", where: "true", byData: true },
  { id: "referring_sites", title: "Referring sites", key: "site", where: "true" },
  { id: "referrers", title: "Referrer URLs", key: "referrer", where: "referrer <> '-'" },
  {
    id: "status_codes",
    title: "HTTP status codes",
    key: "status_class",
    where: "true",
    sub: "CAST(status AS VARCHAR)",
  },
]);

/** The enriched table's columns, in the order the notebooks' dataset has them. */
export const ENRICHED_COLUMNS = [
  "ts",
  "day",
  "hour",
  "minute",
  "host",
  "method",
  "protocol",
  "path",
  "req",
  "static",
  "status",
  "status_class",
  "bytes",
  "referrer",
  "site",
  "agent",
  "browser",
  "browser_item",
  "os",
  "os_item",
  "vkey",
] as const;

/**
 * Create the temp table `r`: the events with ts in [from, to), each with the columns the panels group by (its
 * UTC day and hour, GoAccess's request key, static flag, families, referring site and visitor key). `scratch`
 * is a folder for the lookup tables' NDJSON.
 */
export async function enrichEvents(conn: DuckDBConnection, range: ReportRange, scratch: string): Promise<void> {
  await conn.run(
    `CREATE TEMP TABLE r_ev AS SELECT * FROM events WHERE ts >= ${Math.trunc(range.from)} AND ts < ${Math.trunc(range.to)}`,
  );
  await lookupTable(conn, scratch, "r_agents", "SELECT DISTINCT coalesce(agent, '') k FROM r_ev", (k) => {
    const c = range.classify(k);
    return { k, browser: c.browser, browser_item: c.browserItem, os: c.os, os_item: c.osItem, isbot_only: c.isbotOnly };
  });
  await lookupTable(
    conn,
    scratch,
    "r_reqs",
    "SELECT DISTINCT path || coalesce('?' || query, '') k, path, query FROM r_ev",
    (k, row) => ({
      k,
      req: requestKey(String(row.path), row.query === null ? null : String(row.query)),
      static: isStatic(String(row.path)),
    }),
  );
  await lookupTable(
    conn,
    scratch,
    "r_refs",
    "SELECT DISTINCT referrer k FROM r_ev WHERE referrer IS NOT NULL",
    (k) => ({
      k,
      site: referringSite(k),
    }),
  );
  // The visitor key is GoAccess's: date + host + agent, and a 4xx response makes no visitor.
  await conn.run(`CREATE TEMP TABLE r AS SELECT e.*, strftime(epoch_ms(e.ts), '%Y%m%d') AS day,
      strftime(epoch_ms(e.ts), '%H') AS hour, strftime(epoch_ms(e.ts), '%H:%M') AS minute, ${STATUS_CLASS_SQL} AS status_class,
      q.req, q.static, a.browser, a.browser_item, a.os, a.os_item, f.site,
      CASE WHEN e.status BETWEEN 400 AND 499 THEN NULL
           ELSE strftime(epoch_ms(e.ts), '%Y%m%d') || chr(1) || e.host || chr(1) || coalesce(e.agent, '') END AS vkey
    FROM r_ev e JOIN r_agents a ON a.k = coalesce(e.agent, '')
    JOIN r_reqs q ON q.k = e.path || coalesce('?' || e.query, '')
    LEFT JOIN r_refs f ON f.k = e.referrer`);
}

/** Compute the report on a catalog connection with `events` and `dead_letters` loaded. */
export async function computeReport(conn: DuckDBConnection, range: ReportRange): Promise<Report> {
  const maxItems = range.maxItems ?? 366;
  const scratch = await mkdtemp(join(tmpdir(), "logbench-report-"));
  try {
    await enrichEvents(conn, range, scratch);
    const [t] = await queryRows(
      conn,
      "SELECT count(*) n, count(DISTINCT vkey) v, coalesce(sum(bytes), 0) b, min(ts) lo, max(ts) hi FROM r",
    );
    const totals = { hits: Number(t!.n), visitors: Number(t!.v), bytes: Number(t!.b) };
    const item = (row: Record<string, unknown>): ReportItem => ({
      data: String(row.data),
      hits: { count: Number(row.hits), percent: pct(Number(row.hits), totals.hits) },
      visitors: { count: Number(row.visitors), percent: pct(Number(row.visitors), totals.visitors) },
      bytes: { count: Number(row.bytes), percent: pct(Number(row.bytes), totals.bytes) },
      ...(row.method !== undefined ? { method: String(row.method), protocol: String(row.protocol) } : {}),
    });
    const panel = async ({ key, where, sub, byData, request }: PanelDef): Promise<Panel> => {
      const extra = request ? ", method, protocol" : "";
      const order = byData ? "data DESC" : "hits DESC, data";
      const rows = await queryRows(
        conn,
        `SELECT ${key} AS data${extra}, count(*) hits, count(DISTINCT vkey) visitors, coalesce(sum(bytes), 0) bytes,
           count(*) OVER () total FROM r WHERE ${where} AND ${key} IS NOT NULL GROUP BY ALL ORDER BY ${order} LIMIT ${maxItems}`,
      );
      const data = rows.map(item);
      if (sub)
        for (const [i, row] of rows.entries()) {
          const subs = await queryRows(
            conn,
            `SELECT ${sub} AS data, count(*) hits, count(DISTINCT vkey) visitors, coalesce(sum(bytes), 0) bytes
             FROM r WHERE ${where} AND ${key} = ${quoteLiteral(String(row.data))} GROUP BY ALL ORDER BY hits DESC, data LIMIT ${maxItems}`,
          );
          data[i]!.items = subs.map(item);
        }
      return { metadata: { data: { total: { value: Number(rows[0]?.total ?? 0) } } }, data };
    };
    const panels = {} as Record<PanelName, Panel>;
    for (const def of PANEL_DEFS) panels[def.id] = await panel(def);
    const failed = await failedRequests(conn, range);
    const [bots] = await queryRows(
      conn,
      "SELECT count(*) n FROM r JOIN r_agents a ON a.k = coalesce(r.agent, '') WHERE a.isbot_only",
    );
    const day = (ms: unknown) => (ms === null ? "" : new Date(Number(ms)).toISOString().slice(0, 10));
    return {
      general: {
        start_date: day(t!.lo),
        end_date: day(t!.hi),
        date_time: new Date().toISOString(),
        total_requests: totals.hits + failed.inRange,
        valid_requests: totals.hits,
        failed_requests: failed.inRange,
        unique_visitors: totals.visitors,
        unique_files: panels.requests.metadata.data.total.value,
        unique_static_files: panels.static_requests.metadata.data.total.value,
        unique_not_found: panels.not_found.metadata.data.total.value,
        unique_referrers: panels.referrers.metadata.data.total.value,
        bandwidth: totals.bytes,
        failed_requests_note:
          "Dead letters whose raw line holds a CLF or ISO 8601 timestamp inside the range; dead letters without one are counted in failed_without_time, over all time.",
        failed_without_time: failed.untimed,
        crawlers_isbot_only: Number(bots!.n),
        crawlers_note:
          "Browsers and OS: requests whose agent only isbot names a crawler (no contact URL, no script library; archive.org's bot, for one) are under Crawlers here, and counted in crawlers_isbot_only; GoAccess files some of them under Others or Unknown.",
      },
      panels,
    };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Dead letters whose raw line holds a time in the range, and those holding none (over all time). */
export async function failedRequests(conn: DuckDBConnection, range: { from: number; to: number }) {
  const rows = await queryRows(conn, "SELECT raw, rawBase64 FROM dead_letters");
  let inRange = 0;
  let untimed = 0;
  for (const row of rows) {
    const raw = row.raw ?? Buffer.from(String(row.rawBase64 ?? ""), "base64").toString("latin1");
    const t = timeOfRawLine(String(raw));
    if (t === null) untimed++;
    else if (t >= range.from && t < range.to) inRange++;
  }
  return { inRange, untimed };
}

/** A table `name(k, …)` of `fn` over each distinct `k` that `sql` selects, loaded from NDJSON. */
async function lookupTable(
  conn: DuckDBConnection,
  scratch: string,
  name: string,
  sql: string,
  fn: (k: string, row: Record<string, unknown>) => Record<string, unknown>,
): Promise<void> {
  const rows = await queryRows(conn, sql);
  const file = join(scratch, `${name}.ndjson`);
  await writeFile(file, rows.map((r) => JSON.stringify(fn(String(r.k), r))).join("\n"));
  const sample = fn("", { path: "", query: null });
  const columns = Object.keys(sample)
    .map((c) => `${JSON.stringify(c)}: ${typeof sample[c] === "boolean" ? "'BOOLEAN'" : "'VARCHAR'"}`)
    .join(", ");
  await conn.run(
    rows.length === 0
      ? `CREATE TEMP TABLE ${name} AS SELECT * FROM (SELECT ${Object.keys(sample)
          .map((c) => `CAST(NULL AS ${typeof sample[c] === "boolean" ? "BOOLEAN" : "VARCHAR"}) AS ${c}`)
          .join(", ")}) WHERE false`
      : `CREATE TEMP TABLE ${name} AS SELECT * FROM read_json(${quoteLiteral(file)}, format = 'newline_delimited', columns = {${columns}})`,
  );
}
