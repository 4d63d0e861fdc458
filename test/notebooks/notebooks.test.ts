/**
 * The notebooks end to end, as an analyst and a report publisher use them: the real daemon archives and
 * aggregates nasa-jul95-first1000.log, the site is built with the network refused (only loopback), each page
 * of the published build is opened in Debian's Chromium and must show what `logbench query` says about the same
 * data; then `logbench start`'s preview server shows windows arriving live while more lines are replayed; and a
 * build with an InfluxDB token in the environment leaves the token nowhere in what it wrote.
 *
 * The steps share one daemon's data and Framework's one cache folder, so they run in order in this one file.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { silentContext } from "../../connectors/context.ts";
import { createSeriesStore } from "../../connectors/registry.ts";
import { loadConfig } from "../../pipeline/config/load.ts";
import { MEASUREMENTS } from "../../pipeline/model/window.ts";
import { serveNotebooks } from "../../pipeline/notebooks/serve.ts";
import { complete, counts } from "../e2e/check.ts";
import { expectedFromFiles } from "../e2e/expected.ts";
import { type DaemonProcess, SAMPLES, startDaemon, stopDaemon, waitFor, writeConfig } from "../e2e/harness.ts";
import { startInfluxV2Double } from "../servers/influxdb/v2-double.ts";
import { type Browser, launchChromium } from "./helpers/browser.ts";
import { freePort, scanForSecret } from "./helpers/files.ts";
import { numberOf, openPage, screenshot, tableRows, waitForCharts } from "./helpers/pages.ts";
import { buildSite, logbenchQuery, logbenchReplay } from "./helpers/site.ts";
import { type StaticSite, serveStatic } from "./helpers/static-server.ts";

const SAMPLE = join(SAMPLES, "nasa-jul95-first1000.log");
const MORE = join(SAMPLES, "nasa-aug95-excerpt-broken.log");
const expected = expectedFromFiles([SAMPLE]);
const more = expectedFromFiles([MORE]);
const PAGES = ["index", "live", "series", "archive", "reports/daily"];

let dir: string;
let config: string;
let apiPort: number;
let daemon: DaemonProcess | undefined;
let browser: Browser;
let context: BrowserContext;
let site: StaticSite | undefined;

const n = (rows: Record<string, unknown>[], key = "n") => Number(rows[0]![key]);
/** Query rows as the text a page's table shows (numbers with thousands separators). */
const asText = (rows: Record<string, unknown>[], columns: string[]) =>
  rows.map((r) =>
    columns.map((c) => (typeof r[c] === "number" ? (r[c] as number).toLocaleString("en-US") : String(r[c]))),
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "logbench-notebooks-"));
  apiPort = await freePort();
  config = writeConfig(dir, {
    sources: [{ type: "replay", name: "sample", format: "clf", files: [SAMPLE] }],
    api: { port: apiPort },
    // Fires as soon as a window is flushed: the live page must list it.
    alerts: { rules: [{ type: "window", name: "any_requests", measure: "count", above: 0, summary: "Requests seen" }] },
  });
  daemon = startDaemon(config);
  await waitFor("the sample archived and windowed", () => counts(config), complete(expected), { daemon });
  // A published report is built and read without a daemon: the pages must fall back to their snapshots.
  expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
  daemon = undefined;
  browser = await launchChromium();
  context = browser.context;
}, 240_000);

afterAll(async () => {
  if (daemon) await stopDaemon(daemon, "SIGKILL");
  await site?.close();
  await browser?.close();
});

describe.sequential("notebooks", () => {
  it("builds the static site from the daemon's data with no network but loopback", async () => {
    const built = await buildSite(config, "notebooks-site");
    expect(built.code, `${built.stdout.slice(-3000)}\n${built.stderr.slice(-3000)}`).toBe(0);
    expect(built.fetches, "URLs the build tried to download").toEqual([]);
    for (const page of PAGES) expect(readFileSync(join(built.output, `${page}.html`), "utf8")).toContain("</html>");
    site = await serveStatic(built.output);
  }, 400_000);

  it("index: says the daemon is away and shows the build-time status", async () => {
    const { page, problems } = await openPage(context, `${site!.url}/`);
    await page.locator('[data-testid="origin"][data-live="false"]').waitFor();
    expect(await numberOf(page, "dead-letters")).toBe(
      n(await logbenchQuery(config, "select count(*) n from dead_letters")),
    );
    const [newest] = await logbenchQuery(
      config,
      "select strftime(epoch_ms(max(ts)), 'dt=%Y-%m-%d/hour=%H') p from events",
    );
    expect(await page.locator('[data-testid="newest-partition"]').innerText()).toBe(String(newest!.p));
    await screenshot(page, "index");
    expect(problems.filter((p) => !isDaemonAway(p))).toEqual([]);
  }, 120_000);

  it("live: shows the snapshot windows and counts the stream with DuckDB-wasm", async () => {
    const { page, problems } = await openPage(context, `${site!.url}/live`);
    await page.locator('[data-testid="origin"][data-live="false"]').waitFor();
    expect(await waitForCharts(page, 4)).toBeGreaterThanOrEqual(4);
    const windowed = n(await logbenchQuery(config, "select sum(count) n from requests"));
    expect(windowed).toBe(expected.good.length);
    expect(await numberOf(page, "windows-total")).toBe(windowed);
    expect(await numberOf(page, "stream-count")).toBe(n(await logbenchQuery(config, "select count(*) n from events")));
    await page.locator('[data-testid="stream-sql-result"] table').waitFor();
    await screenshot(page, "live-snapshot");
    expect(problems.filter((p) => !isDaemonAway(p))).toEqual([]);
  }, 120_000);

  it("series: plots the measurement and sums it like logbench query", async () => {
    const { page, problems } = await openPage(context, `${site!.url}/series`);
    expect(await waitForCharts(page, 1)).toBeGreaterThanOrEqual(1);
    expect(await numberOf(page, "series-total")).toBe(
      n(await logbenchQuery(config, "select sum(count) n from requests")),
    );
    await screenshot(page, "series");
    expect(problems).toEqual([]);
  }, 120_000);

  it("archive: the ready queries return the rows logbench query returns", async () => {
    const { page, problems } = await openPage(context, `${site!.url}/archive`);
    expect(await numberOf(page, "archive-events")).toBe(
      n(await logbenchQuery(config, "select count(*) n from events")),
    );
    await waitForCharts(page, 1);
    const topPaths = await logbenchQuery(
      config,
      "select path, count(*) as requests from events group by path order by requests desc, path limit 20",
    );
    expect(await tableRows(page.locator('[data-testid="archive-sql-result"] table'))).toEqual(
      asText(topPaths, ["path", "requests"]),
    );
    await page.getByLabel("Not found (404)").check();
    const notFound = await logbenchQuery(
      config,
      "select path, count(*) as requests from events where status = 404 group by path order by requests desc, path limit 20",
    );
    expect(notFound.length).toBeGreaterThan(0);
    await expect
      .poll(() => tableRows(page.locator('[data-testid="archive-sql-result"] table')), { timeout: 30_000 })
      .toEqual(asText(notFound, ["path", "requests"]));
    await screenshot(page, "archive");
    expect(problems).toEqual([]);
  }, 120_000);

  it("daily report: top paths, hosts and status counts equal logbench query over the same day", async () => {
    const { page, problems } = await openPage(context, `${site!.url}/reports/daily`);
    await waitForCharts(page, 8);
    const [day] = await logbenchQuery(config, "select strftime(epoch_ms(min(ts)), '%Y-%m-%d') d from events");
    expect(day!.d).toBe("1995-07-01");
    const where = "ts >= epoch_ms(TIMESTAMP '1995-07-01') AND ts < epoch_ms(TIMESTAMP '1995-07-02')";
    // epoch_ms(TIMESTAMP) gives milliseconds back: the filter is the UTC day, as the report's.
    expect(await numberOf(page, "total-requests")).toBe(
      n(await logbenchQuery(config, `select count(*) n from events where ${where}`)),
    );
    const panels: Array<[string, string, string]> = [
      [
        "topPaths",
        "path",
        `select path, count(*) requests from events where ${where} group by path order by requests desc, path limit 10`,
      ],
      [
        "topHosts",
        "host",
        `select host, count(*) requests from events where ${where} group by host order by requests desc, host limit 10`,
      ],
      [
        "statuses",
        "status",
        `select status, count(*) requests from events where ${where} group by status order by requests desc, status`,
      ],
    ];
    for (const [id, column, sql] of panels) {
      const rows = await tableRows(page.locator(`[data-testid="panel-${id}"]`));
      // The report also shows bytes for paths and hosts; compare the key and the request count.
      expect(
        rows.map((r) => r.slice(0, 2)),
        id,
      ).toEqual(asText(await logbenchQuery(config, sql), [column, "requests"]));
    }
    const stamp = await page.locator('[data-testid="stamp"]').innerText();
    expect(stamp).toContain("1995-07-01");
    expect(stamp).toContain(config);
    await screenshot(page, "daily");
    expect(problems).toEqual([]);
  }, 120_000);

  it("live page under the preview server shows windows arriving while more lines are replayed", async () => {
    daemon = startDaemon(config);
    const controller = new AbortController();
    const served = await serveNotebooks({
      port: 0,
      configPath: config,
      env: process.env,
      signal: controller.signal,
      logger: silentContext().logger,
    });
    try {
      await waitFor("the daemon's API", () => fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok), Boolean, {
        daemon,
      });
      const { page, problems } = await openPage(context, `${served.url}live`);
      await page.locator('[data-testid="origin"][data-live="true"]').waitFor({ timeout: 60_000 });
      await page.locator('[data-testid="alerts-firing"][data-count="1"] li[data-rule="any_requests"]').waitFor();
      expect(await page.locator('[data-testid="alerts-firing"] li').innerText()).toContain("Requests seen");
      await waitForCharts(page, 4);
      const newest = () =>
        page
          .locator('[data-testid="windows-total"]')
          .getAttribute("data-newest")
          .then((v) => Number(v));
      const before = await newest();
      // A marker that a reload would wipe out.
      await page.evaluate(() => Object.assign(window, { logbenchMarker: "not reloaded" }));
      const replayed = await logbenchReplay(config, MORE);
      expect(replayed.code, replayed.stderr).toBe(0);
      // The August excerpt's windows come after July's: the newest window shown must move to the series' newest.
      await waitFor(
        "the replayed lines windowed",
        () => counts(config),
        (c) => c.windowed >= expected.good.length + more.good.length,
        {
          daemon,
        },
      );
      const [latest] = await logbenchQuery(config, "select max(time) t from requests");
      expect(Number(latest!.t)).toBeGreaterThan(before);
      await expect.poll(newest, { timeout: 60_000 }).toBe(Number(latest!.t));
      await waitForCharts(page, 4);
      expect(await page.evaluate(() => (window as unknown as { logbenchMarker?: string }).logbenchMarker)).toBe(
        "not reloaded",
      );

      // SQL over the last hour of the stream (everything this test put on the bus) after a reload of the stream.
      const all = expected.good.length + more.good.length;
      await waitFor(
        "the replayed lines archived",
        () => counts(config),
        (c) => c.events >= all,
        { daemon },
      );
      await page.getByRole("spinbutton").fill("60");
      await page.getByRole("button", { name: "Reload the stream" }).click();
      await expect.poll(() => numberOf(page, "stream-count"), { timeout: 60_000 }).toBe(all);
      expect(n(await logbenchQuery(config, "select count(*) n from events"))).toBe(all);
      await screenshot(page, "live-preview");
      expect(problems).toEqual([]);
    } finally {
      controller.abort();
      // Bounded, so a preview server that does not stop says so instead of running into the test's timeout.
      await Promise.race([
        served.done,
        new Promise((_, fail) => setTimeout(() => fail(new Error("the preview server did not stop in 60 s")), 60_000)),
      ]);
      if (daemon) expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
      daemon = undefined;
    }
  }, 300_000);

  it("a build with an InfluxDB token in the environment leaves the token nowhere in dist/ or the caches", async () => {
    const secret = `lbsecret-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    const double = await startInfluxV2Double({ token: secret });
    try {
      // The series of the run, written to the InfluxDB 2.x double, so the pages have something to show.
      const ctx = silentContext();
      const local = await createSeriesStore((await loadConfig(config)).series, ctx);
      const raw = parse(readFileSync(config, "utf8")) as Record<string, unknown>;
      const series = {
        type: "influxdb-v2",
        url: double.url,
        org: double.org,
        bucket: double.bucket,
        token: "${INFLUX_TOKEN}",
      };
      const influxConfig = join(dir, "influx.yaml");
      writeFileSync(influxConfig, stringify({ ...raw, series }));
      const remote = await createSeriesStore((await loadConfig(influxConfig, { INFLUX_TOKEN: secret })).series, ctx);
      for (const m of Object.values(MEASUREMENTS)) await remote.write(await local.query({ measurement: m }));
      await Promise.all([local.close(), remote.close()]);

      const built = await buildSite(influxConfig, "notebooks-secret", { INFLUX_TOKEN: secret });
      expect(built.code, built.stderr.slice(-3000)).toBe(0);
      expect(built.fetches).toEqual([]);
      const queries = double.requests.filter((r) => r.path === "/api/v2/query");
      expect(queries.length, "the loaders read the series through the token").toBeGreaterThan(0);
      expect(queries.every((r) => r.status === 200)).toBe(true);

      const scan = await scanForSecret(secret, [built.output, "notebooks/.observablehq/cache", ".observablehq/cache"]);
      expect(
        scan.files.some((f) => f.endsWith("data/series.arrow")),
        "loader outputs were scanned",
      ).toBe(true);
      expect(scan.files.length).toBeGreaterThan(20);
      expect(scan.found).toEqual([]);
    } finally {
      await double.close();
    }
  }, 400_000);
});

/** While the daemon is stopped, the pages' tries to reach its API fail; that is the case they handle. */
function isDaemonAway(problem: string): boolean {
  return problem.includes(`127.0.0.1:${apiPort}`) || /ERR_CONNECTION_REFUSED/.test(problem);
}
