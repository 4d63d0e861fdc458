/**
 * Reading the daily report page (notebooks/reports/daily.md) as numbers, and `logbench report` for the same day,
 * so a test can hold one against the other: every general card, and every panel's rows and total.
 */
import { join } from "node:path";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { packageRoot } from "../../../pipeline/config/load.ts";
import { run } from "./site.ts";

export interface PageRow {
  key: string;
  hits: number;
  visitors: number;
  bytes: number;
  prevDay: number;
  prevWeek: number;
  /** Request panels: the row's protocol (rows are per method, request and protocol, as GoAccess's). */
  protocol: string;
}

/** A panel's rows as shown (none when the panel says "none"). */
export function panelRows(page: Page, id: string): Promise<PageRow[]> {
  return page.locator(`[data-testid="panel-${id}"] tbody tr`).evaluateAll((trs) =>
    trs.map((tr) => {
      const td = Array.from(tr.querySelectorAll("td"));
      const v = (i: number) => Number((td[i] as HTMLElement).dataset.value);
      return {
        key: (td[0]!.textContent ?? "").trim(),
        hits: v(1),
        visitors: v(2),
        bytes: v(3),
        prevDay: v(4),
        prevWeek: v(6),
        protocol: (tr as HTMLElement).dataset.protocol ?? "",
      };
    }),
  );
}

/** A general card: the day's number and the two it is compared with (null where the page shows "—"). */
export async function card(page: Page, id: string) {
  const el = page.locator(`[data-testid="general-${id}"]`);
  await el.waitFor({ timeout: 120_000 });
  const num = async (attr: string) => {
    const v = await el.getAttribute(attr);
    return v === null || v === "" ? null : Number(v);
  };
  return { day: await num("data-value"), prevDay: await num("data-prev-day"), prevWeek: await num("data-prev-week") };
}

export const GENERAL = [
  "total_requests",
  "valid_requests",
  "failed_requests",
  "unique_visitors",
  "unique_files",
  "unique_static_files",
  "unique_not_found",
  "unique_referrers",
  "bandwidth",
] as const;
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

// biome-ignore lint/suspicious/noExplicitAny: GoAccess-shaped JSON
export type ReportJson = any;

/** `logbench report --format json` over [from, to) of the config. */
export async function logbenchReport(configFile: string, from: string, to: string): Promise<ReportJson> {
  const r = await run(
    process.execPath,
    [join(packageRoot, "bin/logbench.js"), "report", "--config", configFile, "--from", from, "--to", to],
    process.env,
    120_000,
  );
  if (r.code !== 0) throw new Error(`logbench report exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** Every card and every panel of the page (unfiltered) equal `logbench report` for its day. */
export async function expectPageShowsReport(page: Page, report: ReportJson): Promise<void> {
  // The panels are drawn after the cards, once DuckDB-wasm has run every panel's query.
  await page.locator('[data-testid="panel-visit_time"]').waitFor({ timeout: 120_000 });
  for (const id of GENERAL) expect((await card(page, id)).day, id).toBe(report.general[id]);
  for (const id of PANELS) {
    const limit = id === "visit_time" ? 24 : 10;
    const expected = report[id].data.slice(0, limit).map((d: ReportJson) => ({
      key: `${d.method ? `${d.method} ` : ""}${d.data}`,
      hits: d.hits.count,
      visitors: d.visitors.count,
      bytes: d.bytes.count,
    }));
    const shown = (await panelRows(page, id)).map(({ key, hits, visitors, bytes }) => ({ key, hits, visitors, bytes }));
    expect(shown, id).toEqual(expected);
    const total = await page.locator(`[data-testid="panel-${id}-total"]`).getAttribute("data-value");
    expect(Number(total), `${id} total`).toBe(report[id].metadata.data.total.value);
    // The nested rows (versions, codes) under each shown row: the report's first ten items.
    if (!["os", "browsers", "status_codes"].includes(id)) continue;
    const nested = await panelItems(page, id);
    const want = Object.fromEntries(
      report[id].data.slice(0, limit).map((d: ReportJson) => [
        d.data,
        d.items.slice(0, 10).map((i: ReportJson) => ({
          key: i.data,
          hits: i.hits.count,
          visitors: i.visitors.count,
          bytes: i.bytes.count,
        })),
      ]),
    );
    expect(nested, `${id} items`).toEqual(want);
  }
}

/** The rows nested under each row of a panel, by the row's key. */
export function panelItems(
  page: Page,
  id: string,
): Promise<Record<string, Array<Omit<PageRow, "prevDay" | "prevWeek" | "protocol">>>> {
  return page.locator(`[data-testid="panel-${id}-items"] details`).evaluateAll((all) =>
    Object.fromEntries(
      all.map((d) => [
        (d as HTMLElement).dataset.parent ?? "",
        Array.from(d.querySelectorAll("tbody tr")).map((tr) => {
          const td = Array.from(tr.querySelectorAll("td"));
          const v = (i: number) => Number((td[i] as HTMLElement).dataset.value);
          return { key: (td[0]!.textContent ?? "").trim(), hits: v(1), visitors: v(2), bytes: v(3) };
        }),
      ]),
    ),
  );
}
