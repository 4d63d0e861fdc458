/**
 * Per-window counts by browser family, OS family and status class (requests_by_browser, requests_by_os,
 * requests_by_status_class), written by the aggregate stage to both series stores (a DuckDB file and the real
 * influxd 1.6) from the elastic sample on the local bus, and read back with `logbench query`. The expected counts
 * come from the raw lines: the status by a regex, the agent by a regex and then ua-parser-js through the report's
 * classifier (whose families are pinned by hand in test/pipeline/report/agents.test.ts and, for the folding
 * onto the bounded tag list, below).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { stringify } from "yaml";
import { silentContext } from "../../../connectors/context.ts";
import { createDuckDbSeriesStore } from "../../../connectors/duckdb/series-store.ts";
import { influxV1Schema } from "../../../connectors/influxdb/config.ts";
import { createInfluxV1Store } from "../../../connectors/influxdb/v1.ts";
import { createLocalBus } from "../../../connectors/local/file-log.ts";
import type { SeriesStore } from "../../../connectors/types.ts";
import { AgentFamilies, BROWSER_TAGS, OS_TAGS } from "../../../pipeline/aggregate/agent-families.ts";
import { AggregateStage } from "../../../pipeline/aggregate/stage.ts";
import { packageRoot, parseConfig } from "../../../pipeline/config/load.ts";
import { createParser } from "../../../pipeline/ingest/parse/index.ts";
import { classifyAgent } from "../../../pipeline/report/agents.ts";
import { runMain } from "../cli/run-main.ts";

const SAMPLE = join(packageRoot, "data/samples/elastic-apache-combined.log");
const influxUrl = inject("influxV1Url");
/** host ident user [time] "request" status bytes "referrer" "agent" — the whole line, or it is no event. */
const LINE = /^\S+ \S+ \S+ \[(\d\d)\/May\/(2015):(\d\d):[^\]]+ \+0000\] "[^"]*" (\d{3}) (?:\d+|-) "[^"]*" "([^"]*)"$/;

function expectedCounts(lines: string[]) {
  const tally = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  const browser = new Map<string, number>();
  const os = new Map<string, number>();
  const statusClass = new Map<string, number>();
  const fold = (fam: string, list: readonly string[]) => (list.includes(fam) ? fam : "Other");
  const hours = new Set<string>();
  let events = 0;
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) continue;
    events++;
    hours.add(`${m[2]}05${m[1]}${m[3]}`);
    tally(statusClass, `${m[4]![0]}xx`);
    const c = classifyAgent(m[5]!);
    tally(browser, fold(c.browser, BROWSER_TAGS));
    tally(os, fold(c.os, OS_TAGS));
  }
  return { events, hours, browser, os, statusClass };
}

/** Runs the aggregate stage over the sample on a local bus until `series` holds every event. */
async function aggregateSample(series: SeriesStore, lines: string[], events: number) {
  const dir = mkdtempSync(join(tmpdir(), "logbench-families-"));
  const bus = createLocalBus({ type: "local", dir: join(dir, "bus"), partitions: 2, fsync: false }, silentContext());
  const parser = createParser("combined", { keepRaw: false });
  const records = lines.flatMap((line) => {
    const r = parser.parse(new TextEncoder().encode(line), "elastic");
    return r.ok ? [{ key: r.event.host ?? "", value: JSON.stringify(r.event) }] : [];
  });
  await bus.produce("weblogs", records);
  const config = parseConfig({ aggregator: { flushInterval: "100ms", windows: [{ size: "1h" }] } }).aggregator;
  const stage = new AggregateStage({ bus, series, topic: "weblogs", config, ctx: silentContext(), onFatal: () => {} });
  await stage.start();
  try {
    const deadline = Date.now() + 60_000;
    let seen = 0;
    while (Date.now() < deadline) {
      seen = (await series.query({ measurement: "requests_by_os" })).reduce((n, p) => n + Number(p.fields.count), 0);
      if (seen === events) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`the stage wrote ${seen} of ${events} events to requests_by_os in 60 s`);
  } finally {
    await stage.stop();
    await bus.close();
  }
}

async function query(configFile: string, sql: string): Promise<Map<string, number>> {
  const { code, stdout: out, stderr: err } = await runMain(["query", sql, "--config", configFile, "--format", "json"]);
  expect(code, err).toBe(0);
  return new Map((JSON.parse(out) as Array<{ k: string; n: number }>).map((r) => [r.k, Number(r.n)]));
}

const lines = readFileSync(SAMPLE, "utf8").trimEnd().split("\n");
const expected = expectedCounts(lines);

describe.each(["duckdb", "influxdb-v1"] as const)("family counts per window in %s", (kind) => {
  it("sum to the raw lines' counts, with bounded tags, through logbench query", { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-families-cfg-"));
    const seriesConfig =
      kind === "duckdb"
        ? { type: "duckdb" as const, file: join(dir, "series.duckdb") }
        : { type: "influxdb-v1" as const, url: influxUrl, database: `lb_families_${process.pid}_${Date.now()}` };
    const series =
      kind === "duckdb"
        ? createDuckDbSeriesStore(seriesConfig as { type: "duckdb"; file: string }, silentContext())
        : createInfluxV1Store(influxV1Schema.parse(seriesConfig), silentContext());
    await aggregateSample(series, lines, expected.events);
    await series.close();
    const configFile = join(dir, "logbench.yaml");
    writeFileSync(
      configFile,
      stringify({
        stateDir: "state",
        bus: { type: "local", dir: "bus" },
        archive: { type: "local", dir: "archive" },
        series: seriesConfig,
      }),
    );
    const sum = (measurement: string, tag: string) =>
      query(configFile, `select ${tag} k, sum(count) n from ${measurement} group by all order by 1`);
    const sorted = (m: Map<string, number>) => new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
    expect(await sum("requests_by_status_class", "status_class")).toEqual(sorted(expected.statusClass));
    const browsers = await sum("requests_by_browser", "browser");
    expect(browsers).toEqual(sorted(expected.browser));
    const oses = await sum("requests_by_os", "os");
    expect(oses).toEqual(sorted(expected.os));
    // Bounded: only listed families and "Other" are tag values.
    for (const k of browsers.keys()) expect([...BROWSER_TAGS, "Other"]).toContain(k);
    for (const k of oses.keys()) expect([...OS_TAGS, "Other"]).toContain(k);
    // Per window: the browser counts of each hour add up to that hour's requests.
    const perHour = await query(
      configFile,
      "select strftime(epoch_ms(time), '%Y%m%d%H') k, sum(count) n from requests_by_browser group by all",
    );
    const requests = await query(
      configFile,
      "select strftime(epoch_ms(time), '%Y%m%d%H') k, sum(count) n from requests group by all",
    );
    expect(sorted(perHour)).toEqual(sorted(requests));
    expect([...perHour.keys()].sort()).toEqual([...expected.hours].sort());
    expect(expected.events).toBe(lines.length - 1); // all but the truncated line 8899
  });
});

describe("AgentFamilies", () => {
  it("folds families outside the fixed list into Other, and pins a few agents by hand", () => {
    const f = new AgentFamilies(2);
    const seamonkey = "Mozilla/5.0 (X11; Linux x86_64; rv:26.0) Gecko/20100101 Firefox/26.0 SeaMonkey/2.23";
    expect(f.of(seamonkey)).toEqual({ browser: "Other", os: "Linux" });
    expect(f.of("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")).toEqual({
      browser: "Crawlers",
      os: "Crawlers",
    });
    expect(f.of("Mozilla/5.0 (X11; U; SunOS sun4u; en-US; rv:1.7.5) Gecko/20050105 Firefox/1.0")).toEqual({
      browser: "Firefox",
      os: "Other",
    });
    expect(f.of(null)).toEqual({ browser: "Unknown", os: "Unknown" });
    // Past its capacity the cache starts over and still answers the same.
    expect(f.of(seamonkey)).toEqual({ browser: "Other", os: "Linux" });
  });
});
