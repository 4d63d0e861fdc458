/**
 * The provisioned Grafana dashboard against what the daemon really writes: a daemon run on the shared influxd
 * 1.6, then every InfluxQL query of the dashboard (panels and variables) sent to influxd the way Grafana would
 * (macros filled in), checked for its columns and for totals counted here from the input files. The JSON's
 * structure (panels, grid, targets, data source uids against the provisioning files) is checked as well, and
 * every metric the Prometheus targets read is in the daemon's /metrics.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { parse } from "yaml";
import { packageRoot } from "../../pipeline/config/load.ts";
import { expectedFromFiles } from "../e2e/expected.ts";
import {
  type DaemonProcess,
  query,
  SAMPLES,
  spool,
  startDaemon,
  stopDaemon,
  waitFor,
  writeConfig,
} from "../e2e/harness.ts";

const GRAFANA = join(packageRoot, "deploy/grafana");
const dashboard = JSON.parse(readFileSync(join(GRAFANA, "dashboards/logbench.json"), "utf8"));
const datasources = parse(readFileSync(join(GRAFANA, "provisioning/datasources/logbench.yaml"), "utf8"));
const providers = parse(readFileSync(join(GRAFANA, "provisioning/dashboards/logbench.yaml"), "utf8"));

const dir = mkdtempSync(join(tmpdir(), "logbench-grafana-"));
const ON_TIME = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
const onTime = expectedFromFiles(ON_TIME);

/** Counted here, awk-style: status, bytes, method, host and path of each on-time CLF line. */
const CLF_FIELDS = /^(\S+) \S+ \S+ \[[^\]]+\] "(\S+) (\S+)[^"]*" (\d{3}) (\d+|-)$/;
const byClass = new Map<string, number>();
const byMethod = new Map<string, number>();
const byPath = new Map<string, number>();
let bytes = 0;
for (const line of onTime.good) {
  const [, , method, path, status, size] = CLF_FIELDS.exec(line) ?? [];
  if (!status) continue;
  byClass.set(`${status[0]}xx`, (byClass.get(`${status[0]}xx`) ?? 0) + 1);
  byMethod.set(method!, (byMethod.get(method!) ?? 0) + 1);
  byPath.set(path!, (byPath.get(path!) ?? 0) + 1);
  bytes += size === "-" ? 0 : Number(size);
}
const minutes = [...onTime.perMinute.keys()];
const TIME_FILTER = `time >= ${Math.min(...minutes)}ms AND time <= ${Math.max(...minutes) + 60_000}ms`;

const database = `grafana_${Date.now().toString(36)}`;
let metricsText = "";
let daemon: DaemonProcess;

beforeAll(async () => {
  const config = writeConfig(dir, {
    series: { type: "influxdb-v1", url: inject("influxV1Url"), database },
    alerts: { rules: [{ type: "dead-letters", name: "bad_lines", above: 1000 }] },
    // Only the windows matter here; the archive has its own e2e tests.
    archiver: { enabled: false },
  });
  spool(join(dir, "spool"), ON_TIME);
  daemon = startDaemon(config);
  // Generous: CI machines run several daemons at once.
  const windowed = async () => Number((await query(config, "select coalesce(sum(count), 0) as n from requests"))[0]!.n);
  await waitFor("every window in influxd", windowed, (n) => n >= onTime.good.length, {
    daemon,
    timeoutMs: 200_000,
  });
  const api = /"message":"API listening\.","url":"([^"]+)"/.exec(daemon.stderr())![1]!;
  metricsText = await (await fetch(`${api}/metrics`)).text();
  expect(await stopDaemon(daemon)).toBe(0);
}, 240_000);
afterAll(() => stopDaemon(daemon, "SIGKILL"));

interface Series {
  name: string;
  columns: string[];
  values: unknown[][];
  tags?: Record<string, string>;
}

/** The query as Grafana sends it: $timeFilter, $__interval and the variables filled in. */
async function influxql(query: string, source = ".*"): Promise<Series[]> {
  const q = query
    .replaceAll("$timeFilter", TIME_FILTER)
    .replaceAll("$__interval", "1m")
    .replaceAll("$window", "1m")
    .replaceAll("$source", source);
  const url = `${inject("influxV1Url")}/query?db=${database}&epoch=ms&q=${encodeURIComponent(q)}`;
  const body = (await (await fetch(url)).json()) as { results: Array<{ series?: Series[]; error?: string }> };
  expect(body.results[0]!.error, q).toBeUndefined();
  return body.results[0]!.series ?? [];
}

const panels = dashboard.panels as Array<{
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource: { type: string; uid: string };
  targets: Array<Record<string, unknown> & { refId: string; datasource: { type: string; uid: string } }>;
}>;
const targetsOf = (title: string) => panels.find((p) => p.title === title)!.targets;
const sumColumn = (series: Series[], column: string) =>
  series.reduce((s, x) => s + x.values.reduce((a, row) => a + Number(row[x.columns.indexOf(column)] ?? 0), 0), 0);

describe("Grafana dashboard and provisioning", () => {
  it("is dashboard JSON whose panels and targets use the provisioned data sources", () => {
    expect(dashboard).toMatchObject({ uid: "logbench-weblogs", title: expect.any(String) });
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(Array.isArray(dashboard.templating.list)).toBe(true);
    expect(datasources.apiVersion).toBe(1);
    const known = new Map<string, string>(
      (datasources.datasources as Array<{ uid: string; type: string }>).map((d) => [d.uid, d.type]),
    );
    expect([...known.keys()].sort()).toEqual(["logbench-flux", "logbench-influxql", "logbench-prometheus"]);
    expect(providers.providers[0]).toMatchObject({ type: "file", options: { path: expect.stringMatching(/^\//) } });
    expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
    expect(panels.map((p) => p.title)).toEqual(
      expect.arrayContaining([
        "Requests",
        "Status classes",
        "Methods",
        "Bytes",
        "Top paths",
        "Top hosts",
        "Unique hosts",
        "Late events",
        "Consumer lag",
        "Dead letters",
      ]),
    );
    for (const p of panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      expect(["timeseries", "table", "stat"]).toContain(p.type);
      expect(known.get(p.datasource.uid), p.title).toBe(p.datasource.type);
      expect(p.targets.length, p.title).toBeGreaterThan(0);
      expect(new Set(p.targets.map((t) => t.refId)).size).toBe(p.targets.length);
      for (const t of p.targets) {
        expect(known.get(t.datasource.uid), `${p.title} ${t.refId}`).toBe(t.datasource.type);
        if (t.datasource.uid === "logbench-influxql")
          expect(t).toMatchObject({ rawQuery: true, query: expect.any(String) });
        else expect(t.expr, `${p.title} ${t.refId}`).toEqual(expect.any(String));
      }
    }
    for (const v of dashboard.templating.list.filter((v: { datasource?: unknown }) => v.datasource))
      expect(known.has(v.datasource.uid), v.name).toBe(true);
  });

  it("answers every InfluxQL query with the expected columns and the totals of the input", async () => {
    const one = async (title: string, refId = "A") =>
      influxql(targetsOf(title).find((t) => t.refId === refId)!.query as string);
    const requests = await one("Requests");
    expect(requests[0]!.columns).toEqual(["time", "requests"]);
    expect(sumColumn(requests, "requests")).toBe(onTime.good.length);
    expect(sumColumn(await influxql(targetsOf("Requests")[0]!.query as string, "spool"), "requests")).toBe(
      onTime.good.length,
    );
    expect(sumColumn(await influxql(targetsOf("Requests")[0]!.query as string, "nosuchsource"), "requests")).toBe(0);

    for (const t of targetsOf("Status classes")) {
      const series = await influxql(t.query as string);
      const cls = /AS "(\dxx)"/.exec(t.query as string)![1]!;
      if (series.length) expect(series[0]!.columns).toEqual(["time", cls]);
      expect(sumColumn(series, cls), cls).toBe(byClass.get(cls) ?? 0);
    }

    const methods = await one("Methods");
    expect(methods.every((s) => s.columns.join() === "time,requests")).toBe(true);
    expect(new Map(methods.map((s) => [s.tags!.method!, sumColumn([s], "requests")]))).toEqual(byMethod);

    const bytesSeries = await one("Bytes");
    expect(bytesSeries[0]!.columns).toEqual(["time", "bytes"]);
    expect(sumColumn(bytesSeries, "bytes")).toBe(bytes);

    const busiest = [...byPath].sort((a, b) => b[1] - a[1])[0]![0];
    for (const [title, column] of [
      ["Top paths", "path"],
      ["Top hosts", "host"],
    ] as const) {
      const rows = await one(title);
      expect(rows[0]!.columns).toEqual(["time", column, "requests"]);
      const total = sumColumn(rows, "requests");
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThanOrEqual(onTime.good.length);
      if (column === "path") expect(rows[0]!.values.map((r) => r[1])).toContain(busiest);
    }

    // Distinct hosts per minute, counted here.
    const hostsPerMinute = new Map<number, Set<string>>();
    for (const line of onTime.good) {
      const m = Math.floor(tsOf(line) / 60_000) * 60_000;
      if (!hostsPerMinute.has(m)) hostsPerMinute.set(m, new Set());
      hostsPerMinute.get(m)!.add(line.split(" ")[0]!);
    }
    const unique = await one("Unique hosts");
    expect(unique[0]!.columns).toEqual(["time", "unique hosts"]);
    const got = new Map(unique[0]!.values.map((r) => [Number(r[0]), Number(r[1])]));
    expect(got).toEqual(new Map([...hostsPerMinute].map(([m, s]) => [m, s.size])));

    // No `late` measurement yet: an empty answer, not an error (the panel's Prometheus target has the count).
    const late = await one("Late events");
    if (late.length) expect(late[0]!.columns).toEqual(["time", "late (series)"]);

    for (const v of dashboard.templating.list.filter((x: { type: string }) => x.type === "query")) {
      const series = await influxql(v.query);
      expect(series[0]!.columns).toEqual(["key", "value"]);
      expect(series[0]!.values).toEqual([["source", "spool"]]);
    }
  });

  it("reads only metrics the daemon serves on /metrics", () => {
    const names = panels
      .flatMap((p) => p.targets)
      .flatMap((t) => (typeof t.expr === "string" ? [...t.expr.matchAll(/logbench_[a-z_]+/g)].map((m) => m[0]) : []));
    expect(names.length).toBeGreaterThanOrEqual(4);
    // No event of this run is late, so the late counter has no sample yet: it must be the one the aggregate
    // stage declares.
    const late = "logbench_aggregate_late_total";
    expect(readFileSync(join(packageRoot, "pipeline/aggregate/stage.ts"), "utf8")).toContain(`"${late}"`);
    for (const name of new Set(names))
      if (name !== late) expect(metricsText, name).toMatch(new RegExp(`^${name}\\{`, "m"));
  });
});

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
function tsOf(line: string): number {
  const [, d, mon, y, hh, mm, ss, sign, oh, om] =
    /\[(\d{2})\/(\w{3})\/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})\]/.exec(line)!;
  const offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return Date.UTC(Number(y), MONTHS.indexOf(mon!), Number(d), Number(hh), Number(mm), Number(ss)) - offset;
}
