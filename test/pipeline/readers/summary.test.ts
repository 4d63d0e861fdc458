/**
 * Unique hosts and top paths over a range, merged from the stored sketches of many windows, partitions and sources
 * (written to a real DuckDB series file), against exact counts made here from the real NASA sample.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { createDuckDbSeriesStore } from "../../../connectors/duckdb/series-store.ts";
import { HLL_STANDARD_ERROR } from "../../../pipeline/aggregate/sketches.ts";
import { windowSpec } from "../../../pipeline/aggregate/window-spec.ts";
import { PartitionWindows, windowPoints } from "../../../pipeline/aggregate/window-state.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";
import { rangeSummary, summaryRows } from "../../../pipeline/readers/summary.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const LINE = /^(\S+) \S+ \S+ \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\] "\S+ (\S+)/;

/** host, path and time of each line, parsed here (not by logbench). */
function sample(): Array<{ host: string; path: string; ts: number }> {
  const text = readFileSync(join(import.meta.dirname, "../../../data/samples/nasa-jul95-insight-variant.log"), "utf8");
  const out: Array<{ host: string; path: string; ts: number }> = [];
  for (const line of text.split("\n")) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, host, d, mon, y, hh, mm, ss, sign, oh, om, path] = m;
    const offset = (sign === "-" ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
    const ts = Date.UTC(Number(y), MONTHS.indexOf(mon!), Number(d), Number(hh), Number(mm), Number(ss)) - offset;
    out.push({ host: host!, path: path!, ts });
  }
  return out;
}

function event(r: { host: string; path: string; ts: number }, source: string): LogEvent {
  return {
    ts: r.ts,
    host: r.host,
    ident: null,
    user: null,
    method: "GET",
    path: r.path,
    query: null,
    protocol: null,
    status: 200,
    bytes: 1,
    referrer: null,
    agent: null,
    source,
  };
}

describe("rangeSummary", () => {
  it("merges the stored sketches of every window, partition and source in the range into exact-bounded answers", async () => {
    const rows = sample();
    expect(rows.length).toBeGreaterThan(20_000);
    const config = parseConfig({ aggregator: { window: "60s", topK: 5 } });
    const series = createDuckDbSeriesStore(
      { type: "duckdb", file: join(mkdtempSync(join(tmpdir(), "logbench-summary-")), "s.duckdb") },
      silentContext(),
    );
    // Three partitions, two sources; every line goes to both sources, so a sum would count each host twice.
    const partitions = [0, 1, 2].map(
      () => new PartitionWindows({ windows: [windowSpec(60_000)], latenessMs: Number.POSITIVE_INFINITY, topK: 5 }),
    );
    rows.forEach((r, i) => {
      const p = partitions[r.host.length % 3]!;
      p.add(event(r, "a"), i);
      p.add(event(r, "b"), i);
    });
    await series.write(partitions.flatMap((p, i) => [...p.open.values()].flatMap((s) => windowPoints(s, i, 5))));

    // The first half hour: fewer than 4,096 hosts, so the merged hash sets are exact.
    const from = Date.UTC(1995, 6, 1, 4);
    const to = Date.UTC(1995, 6, 1, 4, 30);
    const inRange = rows.filter((r) => r.ts >= from && r.ts < to);
    const hosts = new Set(inRange.map((r) => r.host)).size;
    const paths = new Map<string, number>();
    for (const r of inRange) paths.set(r.path, (paths.get(r.path) ?? 0) + 2);

    const s = await rangeSummary(series, config, { from, to });
    expect(s.count).toBe(inRange.length * 2);
    expect(hosts).toBeGreaterThan(500);
    expect(s.uniqueHosts).toBe(hosts);
    const n = inRange.length * 2;
    const truth = [...paths].sort((a, b) => b[1] - a[1]);
    for (const [value, count] of truth.slice(0, 5)) {
      const got = s.topPaths.find((t) => t.value === value);
      if (count > n / 50) expect(got, `${value} (${count})`).toBeDefined();
      if (got) {
        expect(got.count).toBeGreaterThanOrEqual(count);
        expect(got.count - count).toBeLessThanOrEqual(n / 50);
      }
    }
    // One source only: the same hosts, half the requests.
    const a = await rangeSummary(series, config, { from, to, source: "a" });
    expect([a.count, a.uniqueHosts]).toEqual([inRange.length, hosts]);
    expect(summaryRows(s)[1]).toEqual({ metric: "unique_hosts", rank: null, value: null, count: hosts });
    // The whole file: past 4,096 hosts, HyperLogLog within 3σ of its stated error.
    const all = await rangeSummary(series, config, { from: Date.UTC(1995, 6, 1), to: Date.UTC(1995, 6, 2) });
    const allHosts = new Set(rows.map((r) => r.host)).size;
    expect(allHosts).toBeGreaterThan(4096);
    expect(all.count).toBe(rows.length * 2);
    expect(Math.abs(all.uniqueHosts - allHosts) / allHosts).toBeLessThanOrEqual(3 * HLL_STANDARD_ERROR);
    await series.close();
  });
});
