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
import { ELASTIC_SAMPLE, writeElasticArchive } from "../pipeline/report/elastic-archive.ts";
import { startInfluxV2Double } from "../servers/influxdb/v2-double.ts";
import { type Browser, launchChromium } from "./helpers/browser.ts";
import { freePort, scanForSecret } from "./helpers/files.ts";
import { numberOf, openPage, screenshot, tableRows, waitForCharts } from "./helpers/pages.ts";
import { card, expectPageShowsReport, GENERAL, logbenchReport, type PageRow, panelRows } from "./helpers/report.ts";
import { buildSite, logbenchQuery, logbenchReplay, run } from "./helpers/site.ts";
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

  it("daily report: every panel equals logbench report over the same day", async () => {
    const { page, problems } = await openPage(context, `${site!.url}/reports/daily`);
    const [day] = await logbenchQuery(config, "select strftime(epoch_ms(min(ts)), '%Y-%m-%d') d from events");
    expect(day!.d).toBe("1995-07-01");
    await expectPageShowsReport(page, await logbenchReport(config, "1995-07-01", "1995-07-02"));
    const stamp = await page.locator('[data-testid="stamp"]').innerText();
    expect(stamp).toContain(config);
    await screenshot(page, "daily");
    expect(problems).toEqual([]);
  }, 180_000);

  it("daily report on the elastic sample: GoAccess's and logbench report's numbers, the day before and the week before, a filter bar that changes every panel", async () => {
    const elastic = await writeElasticArchive();
    const before = Date.now();
    const built = await buildSite(elastic.configFile, "report-site", { LOGBENCH_REPORT_DAY: "2015-05-19" });
    const after = Date.now();
    expect(built.code, `${built.stdout.slice(-3000)}\n${built.stderr.slice(-3000)}`).toBe(0);
    expect(built.fetches).toEqual([]);
    const reportSite = await serveStatic(built.output);
    try {
      const { page, problems } = await openPage(context, `${reportSite.url}/reports/daily`);
      await expectPageShowsReport(page, await logbenchReport(elastic.configFile, "2015-05-19", "2015-05-20"));
      // The day before is the report of the 18th; a week before (the 12th) there was nothing.
      const prev = await logbenchReport(elastic.configFile, "2015-05-18", "2015-05-19");
      for (const id of GENERAL) {
        const c = await card(page, id);
        expect(c.prevDay, `${id} the day before`).toBe(prev.general[id]);
        expect(c.prevWeek, `${id} the week before`).toBe(0);
      }
      // GoAccess on the whole file, per day (neither day holds the dead-lettered line, which is on the 20th).
      const gaFile = join(elastic.dir, "ga.json");
      await runGoaccess(gaFile);
      const ga = JSON.parse(readFileSync(gaFile, "utf8"));
      const gaDay = (d: string) => ga.visitors.data.find((r: { data: string }) => r.data === d);
      for (const [d, k] of [
        ["20150519", "day"],
        ["20150518", "prevDay"],
      ] as const) {
        expect((await card(page, "valid_requests"))[k]).toBe(gaDay(d).hits.count);
        expect((await card(page, "unique_visitors"))[k]).toBe(gaDay(d).visitors.count);
        expect((await card(page, "bandwidth"))[k]).toBe(gaDay(d).bytes.count);
      }
      // Built at: the stamp holds the build's own time, between the test's clock before and after the build.
      const builtAt = Number(await page.locator('[data-testid="built-at"]').getAttribute("data-value"));
      expect(builtAt).toBeGreaterThanOrEqual(before);
      expect(builtAt).toBeLessThanOrEqual(after);
      expect(await page.locator('[data-testid="built-at"]').innerText()).toBe(
        `${new Date(builtAt).toISOString().slice(0, 19).replace("T", " ")} UTC`,
      );
      // The data range: the three days' events, counted from the raw lines.
      const raw = rawEvents(elastic.lines);
      const inDays = raw.filter((e) => e.day === "20150518" || e.day === "20150519" || e.day === "20150512");
      const range = page.locator('[data-testid="data-range"]');
      expect(Number(await range.getAttribute("data-events"))).toBe(inDays.length);
      expect(Number(await range.getAttribute("data-first"))).toBe(Math.min(...inDays.map((e) => e.ts)));
      expect(Number(await range.getAttribute("data-last"))).toBe(Math.max(...inDays.map((e) => e.ts)));
      await screenshot(page, "daily-elastic");

      // Filter: agent ~ Firefox and status = 200. Every panel against the raw lines, counted here.
      await page.locator('[data-testid="filter-agent-mode"]').selectOption("~");
      await page.locator('[data-testid="filter-agent"]').fill("Firefox");
      await page.locator('[data-testid="filter-status"]').fill("200");
      await page.locator('[data-testid="filter-apply"]').click();
      const picked = raw.filter((e) => /Firefox/.test(e.agent) && e.status === 200);
      const today = picked.filter((e) => e.day === "20150519");
      const yesterday = picked.filter((e) => e.day === "20150518");
      await page.locator('[data-testid="filter-active"]').waitFor({ timeout: 60_000 });
      await expect.poll(async () => (await card(page, "valid_requests")).day, { timeout: 60_000 }).toBe(today.length);
      const sumHits = (rows: PageRow[]) => rows.reduce((a, r) => a + r.hits, 0);
      await expect
        .poll(async () => sumHits(await panelRows(page, "visit_time")), { timeout: 60_000 })
        .toBe(today.length);
      expect(await card(page, "valid_requests")).toEqual({ day: today.length, prevDay: yesterday.length, prevWeek: 0 });
      expect((await card(page, "bandwidth")).day).toBe(today.reduce((a, e) => a + e.bytes, 0));
      expect((await card(page, "unique_visitors")).day).toBe(new Set(today.map((e) => `${e.host} ${e.agent}`)).size);
      expect((await card(page, "failed_requests")).day).toBeNull();
      const tally = (events: RawEvent[], key: (e: RawEvent) => string | null) => {
        const m = new Map<string, number>();
        for (const e of events) {
          const k = key(e);
          if (k !== null) m.set(k, (m.get(k) ?? 0) + 1);
        }
        return m;
      };
      // Each shown row has the raw lines' count for its key, today and the day before, and the totals agree.
      const check = async (id: string, key: (e: RawEvent) => string | null, rowKey = (r: PageRow): string => r.key) => {
        const now = tally(today, key);
        const before = tally(yesterday, key);
        const rows = await panelRows(page, id);
        expect(rows.length, `${id} rows`).toBe(Math.min(now.size, id === "visit_time" ? 24 : 10));
        for (const r of rows) {
          expect(r.hits, `${id} ${r.key}`).toBe(now.get(rowKey(r)));
          expect(r.prevDay, `${id} ${r.key} the day before`).toBe(before.get(rowKey(r)) ?? 0);
        }
        const top = [...now.values()].sort((a, b) => b - a).slice(0, rows.length);
        if (id !== "visit_time")
          expect(
            rows.map((r) => r.hits),
            `${id} top hits`,
          ).toEqual(top);
        const total = await page.locator(`[data-testid="panel-${id}-total"]`).getAttribute("data-value");
        expect(Number(total), `${id} total`).toBe(now.size);
      };
      await check("visit_time", (e) => e.hour);
      await check("hosts", (e) => e.host);
      await check(
        "status_codes",
        (e) => `${String(e.status)[0]}xx`,
        (r) => r.key.slice(0, 3),
      );
      // Request rows are per method, request and protocol (GoAccess's key).
      const withProtocol = (r: PageRow) => `${r.key} ${r.protocol}`;
      await check("requests", (e) => (e.static ? null : `${e.method} ${e.request} ${e.protocol}`), withProtocol);
      await check("static_requests", (e) => (e.static ? `${e.method} ${e.request} ${e.protocol}` : null), withProtocol);
      await check("referring_sites", (e) => e.site);
      await check("referrers", (e) => (e.referrer === "-" ? null : e.referrer));
      expect(await panelRows(page, "not_found"), "status = 200 leaves no 404").toEqual([]);
      for (const id of ["browsers", "os"]) expect(sumHits(await panelRows(page, id)), id).toBe(today.length);
      expect((await panelRows(page, "browsers"))[0]!.key).toBe("Firefox");
      await screenshot(page, "daily-elastic-filtered");

      // A host equality filter narrows further; clearing gives the day back.
      await page.locator('[data-testid="filter-host"]').fill(today[0]!.host);
      await page.locator('[data-testid="filter-apply"]').click();
      await expect
        .poll(async () => (await card(page, "valid_requests")).day, { timeout: 60_000 })
        .toBe(today.filter((e) => e.host === today[0]!.host).length);
      await page.locator('[data-testid="filter-clear"]').click();
      await expect
        .poll(async () => (await card(page, "valid_requests")).day, { timeout: 60_000 })
        .toBe(raw.filter((e) => e.day === "20150519").length);
      expect(problems).toEqual([]);
    } finally {
      await reportSite.close();
    }
  }, 600_000);

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

async function runGoaccess(out: string): Promise<void> {
  const r = await run(
    "goaccess",
    [ELASTIC_SAMPLE, "--log-format=COMBINED", "--no-ip-validation", "-o", out],
    process.env,
  );
  if (r.code !== 0) throw new Error(`goaccess exited ${r.code}: ${r.stderr}`);
}

/** One line of the elastic sample, read with a regex here (not logbench's parser), with GoAccess's keys. */
interface RawEvent {
  ts: number;
  day: string;
  hour: string;
  host: string;
  method: string;
  /** The request target, every %XX decoded once (GoAccess's key). */
  request: string;
  protocol: string;
  static: boolean;
  status: number;
  bytes: number;
  referrer: string;
  site: string | null;
  agent: string;
}

const STATIC = new RegExp(
  `\\.(${[...readFileSync("/etc/goaccess/goaccess.conf", "utf8").matchAll(/^static-file \.(\S+)$/gm)].map((m) => m[1]).join("|")})$`,
  "i",
);

function rawEvents(lines: string[]): RawEvent[] {
  const LINE =
    /^(\S+) \S+ \S+ \[(\d\d)\/May\/2015:(\d\d):(\d\d):(\d\d) \+0000\] "(\S+) (\S+) (\S+)" (\d{3}) (\d+|-) "([^"]*)" "([^"]*)"$/;
  return lines.flatMap((line) => {
    const m = LINE.exec(line);
    if (!m) return [];
    const [, host, d, hh, mm, ss, method, target, protocol, status, bytes, referrer, agent] = m;
    const path = target!.split("?")[0]!;
    return [
      {
        ts: Date.UTC(2015, 4, Number(d), Number(hh), Number(mm), Number(ss)),
        day: `201505${d}`,
        hour: hh!,
        host: host!,
        method: method!,
        protocol: protocol!,
        request: target!.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
        static: STATIC.test(path),
        status: Number(status),
        bytes: bytes === "-" ? 0 : Number(bytes),
        referrer: referrer!,
        site: /^[a-z][a-z0-9+.-]*:\/\/([^/:?#]+)/i.exec(referrer!)?.[1] ?? null,
        agent: agent!,
      },
    ];
  });
}
