/** Reading what a notebook page shows, the way a reader sees it: rendered charts, tables, stamped numbers. */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { ARTIFACTS } from "./site.ts";

export interface OpenedPage {
  page: Page;
  /** Uncaught errors, console errors and failed requests seen so far. */
  problems: string[];
}

export async function openPage(context: BrowserContext, url: string): Promise<OpenedPage> {
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console error: ${msg.text()}`);
  });
  page.on("requestfailed", (req) => {
    // A closed EventSource or an aborted fetch on navigation is not a problem of the page.
    if (!/ERR_ABORTED/.test(req.failure()?.errorText ?? "")) problems.push(`request failed: ${req.url()}`);
  });
  await page.goto(url, { waitUntil: "load" });
  return { page, problems };
}

/** Wait until at least `n` plotly charts have been drawn (the component sets data-rendered). */
export async function waitForCharts(page: Page, n: number, timeout = 60_000): Promise<number> {
  await page.waitForFunction((min) => document.querySelectorAll("[data-rendered=true]").length >= min, n, { timeout });
  return page.locator("[data-rendered=true]").count();
}

/** The `data-value` (or the text) of the element with this data-testid, as a number. */
export async function numberOf(page: Page, testId: string, timeout = 60_000): Promise<number> {
  const el = page.locator(`[data-testid="${testId}"]`).first();
  await el.waitFor({ timeout });
  const raw = (await el.getAttribute("data-value")) ?? (await el.innerText());
  const n = Number(raw.replace(/,/g, ""));
  if (Number.isNaN(n)) throw new Error(`${testId} shows "${raw}", not a number`);
  return n;
}

/** Body rows of an HTML table as cell texts (Inputs.table's leading selection cell dropped). */
export async function tableRows(table: Locator): Promise<string[][]> {
  const rows = await table
    .locator("tbody tr")
    .evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => (td.textContent ?? "").trim())),
    );
  return rows.map((cells) => (cells[0] === "" ? cells.slice(1) : cells));
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}
