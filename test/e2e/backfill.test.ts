/**
 * Backfill and per-source event time end to end, with the real daemon and the real samples:
 * - the bundled samples, then `logbench replay` of a July file: nothing late, per-minute sums equal the archive's;
 * - the elastic sample (not in time order) has late events; `logbench backfill` makes every minute's count, bytes,
 *   4xx and 5xx equal the archive's, and `--late` marks the late windows repaired;
 * - faithful: a backfill into an empty series store writes exactly the live run's points (DuckDB, and Kafka +
 *   WebHDFS + influxd 1.6).
 * Every expected number is counted from the archive (`events`) or from the files, never from the series itself.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { silentContext } from "../../connectors/context.ts";
import { createSeriesStore } from "../../connectors/registry.ts";
import type { SeriesPoint } from "../../connectors/types.ts";
import { loadConfig, packageRoot } from "../../pipeline/config/load.ts";
import { MEASUREMENTS } from "../../pipeline/model/window.ts";
import { expectMatchesGoAccess } from "../pipeline/report/goaccess-oracle.ts";
import { runToCompletion } from "./check.ts";
import { distributedConfig } from "./distributed-config.ts";
import { expectedFromFiles } from "./expected.ts";
import { query, SAMPLES, startDaemon, stopDaemon, waitFor, writeConfig } from "./harness.ts";

/** Each test runs the daemon and the CLI several times; the elastic one takes ~3 min on a loaded 2-core machine. */
const LONG = 480_000;

const NASA = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];

function logbench(...args: string[]) {
  const r = spawnSync(process.execPath, [resolve(packageRoot, "bin/logbench.js"), ...args], {
    encoding: "utf8",
    timeout: 240_000,
  });
  expect(r.status, `logbench ${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}

/** Every point of every measurement the windows write (not `late`), in a stable order. */
async function allPoints(configFile: string): Promise<SeriesPoint[]> {
  const config = await loadConfig(configFile);
  const series = await createSeriesStore(config.series, silentContext());
  try {
    const out: SeriesPoint[] = [];
    for (const m of Object.values(MEASUREMENTS))
      if (m !== MEASUREMENTS.late) out.push(...(await series.query({ measurement: m })));
    const key = (p: SeriesPoint) => `${p.measurement}|${p.time}|${JSON.stringify(Object.entries(p.tags).sort())}`;
    return out.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  } finally {
    await series.close();
  }
}

/** Per-minute sums in `requests` and the same counted from `events`, for the 60 s windows. */
async function perMinute(configFile: string) {
  const series = await query(
    configFile,
    `select time as minute, sum(count) n, sum(bytes) b, sum(status_4xx) c4, sum(status_5xx) c5
     from requests where "window" = '60s' group by all order by 1`,
  );
  const archive = await query(
    configFile,
    `select epoch_ms(date_trunc('minute', "time")) as minute, count(*) n, coalesce(sum(bytes), 0) b,
       count(*) filter (status between 400 and 499) c4, count(*) filter (status between 500 and 599) c5
     from events group by all order by 1`,
  );
  const norm = (rows: Record<string, unknown>[]) =>
    rows.map((r) => [Number(r.minute), Number(r.n), Number(r.b), Number(r.c4), Number(r.c5)]);
  return { series: norm(series), archive: norm(archive) };
}

const total = async (configFile: string, sql: string) => Number((await query(configFile, sql))[0]!.n);

describe("event time per source, and backfill from the archive", () => {
  it(
    "replaying an older file into a running daemon after the samples: 0 late, minutes equal the archive",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-replay-"));
      const config = writeConfig(dir, {
        sources: [{ type: "replay", name: "sample", format: "clf", files: NASA }],
      });
      const daemon = startDaemon(config);
      try {
        const samples = expectedFromFiles(NASA).good.length;
        await waitFor(
          "the samples aggregated",
          () => total(config, "select coalesce(sum(count), 0) n from requests"),
          (n) => n === samples,
          { daemon },
        );
        const variant = join(SAMPLES, "nasa-jul95-insight-variant.log");
        logbench("replay", variant, "--format", "clf", "--config", config);
        const all = samples + expectedFromFiles([variant]).good.length;
        await waitFor(
          "the July file archived",
          () => total(config, "select count(*) n from events"),
          (n) => n === all,
          { daemon, timeoutMs: 300_000 },
        );
        // Every archived event is in a window: none was late.
        await waitFor(
          "the July file aggregated",
          () => total(config, "select coalesce(sum(count), 0) n from requests"),
          (n) => n === all,
          // A deadline, not a pause: a loaded CI machine needed more than the default 90 s here.
          { daemon, timeoutMs: 300_000 },
        );
        expect(await total(config, "select coalesce(sum(count), 0) n from late")).toBe(0);
        const { series, archive } = await perMinute(config);
        expect(series).toEqual(archive);
      } finally {
        await stopDaemon(daemon);
      }
    },
    LONG,
  );

  it(
    "the elastic sample out of time order, delivered after a later file, is late; backfill makes every minute equal the archive",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-elastic-"));
      const config = writeConfig(dir, {});
      // Its lines are out of order only within each hh:05 minute, so alone none is late. A file from the next day,
      // shipped first under the same source name, moves that source's watermark (in its partition) past all of it.
      const later = join(dir, "later.log");
      writeFileSync(later, '1.2.3.4 - - [21/May/2015:00:30:05 +0000] "GET / HTTP/1.1" 200 10 "-" "curl"\n');
      const daemon = startDaemon(config);
      try {
        logbench("replay", later, "--format", "combined", "--config", config);
        await waitFor(
          "the later file aggregated",
          () => total(config, "select coalesce(sum(count), 0) n from requests"),
          (n) => n === 1,
          { daemon },
        );
        logbench("replay", join(SAMPLES, "elastic-apache-combined.log"), "--format", "combined", "--config", config);
        await waitFor(
          "every line archived or dead-lettered",
          async () =>
            (await total(config, "select count(*) n from events")) +
            (await total(config, "select count(*) n from dead_letters")),
          (n) => n === 10_001,
          { daemon },
        );
        const events = await total(config, "select count(*) n from events");
        // Each event is in its window or counted late for it.
        await waitFor(
          "every event in a window or late",
          async () =>
            (await total(config, "select coalesce(sum(count), 0) n from requests")) +
            (await total(config, "select coalesce(sum(count), 0) n from late")),
          (n) => n === events,
          { daemon },
        );
        expect(await stopDaemon(daemon)).toBe(0);
      } finally {
        await stopDaemon(daemon, "SIGKILL");
      }
      // The report over the archive the daemon wrote from the replay equals GoAccess's on the same file.
      const ours = JSON.parse(
        logbench("report", "--from", "2015-05-17", "--to", "2015-05-21", "--format", "json", "--config", config).stdout,
      );
      const dead = await query(config, "select line, raw from dead_letters");
      expect(dead.map((d) => Number(d.line))).toEqual([8899]);
      await expectMatchesGoAccess(ours, {
        dir,
        lines: readFileSync(join(SAMPLES, "elastic-apache-combined.log"), "utf8").trimEnd().split("\n"),
        deadRaw: String(dead[0]!.raw),
      });

      const late = await total(config, "select coalesce(sum(count), 0) n from late");
      expect(late).toBeGreaterThan(0);
      const before = await perMinute(config);
      expect(before.series).not.toEqual(before.archive);

      const r = logbench("backfill", "--from", "2015-05-17", "--to", "2015-05-21", "--config", config);
      expect(r.stderr).toMatch(/Backfilled from .* \d+ events/);
      const after = await perMinute(config);
      expect(after.series).toEqual(after.archive);
      expect(after.archive.length).toBeGreaterThan(80); // one minute (hh:05) an hour over four days

      // Unique hosts over the four days, merged from the windows' stored sketches, against the archive's count.
      const summary = JSON.parse(
        logbench(
          "query",
          "--summary",
          "--from",
          "2015-05-17",
          "--to",
          "2015-05-21",
          "--format",
          "json",
          "--config",
          config,
        ).stdout,
      ) as Array<{ metric: string; count: number }>;
      const hosts = await total(
        config,
        "select count(distinct host) n from events where ts < epoch_ms(TIMESTAMP '2015-05-21')",
      );
      expect(summary.find((r) => r.metric === "unique_hosts")?.count).toBe(hosts);

      // --late then finds every late window and marks it repaired; the minutes stay equal.
      logbench("backfill", "--late", "--config", config);
      expect(await total(config, "select count(*) n from late where repaired is distinct from count")).toBe(0);
      expect((await perMinute(config)).series).toEqual(after.archive);
    },
    LONG,
  );

  it(
    "deleting the DuckDB series store and backfilling the NASA samples gives the live run's points",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-faithful-"));
      const config = writeConfig(dir, {});
      await runToCompletion(dir, config, NASA, expectedFromFiles(NASA));
      const live = await allPoints(config);
      expect(live.filter((p) => p.measurement === "sketches").length).toBeGreaterThan(0);
      rmSync(join(dir, "series.duckdb"));
      logbench("backfill", "--from", "1995-07-01", "--to", "1995-09-01", "--config", config);
      expect(await allPoints(config)).toEqual(live);
    },
    LONG,
  );

  it(
    "on Kafka + WebHDFS + influxd 1.6, a backfill into an empty database gives the live run's points",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-faithful-influx-"));
      const name = `backfill-${process.pid}-${Date.now() % 100_000}`;
      const config = await distributedConfig(dir, name);
      await runToCompletion(dir, config, NASA, expectedFromFiles(NASA));
      const live = await allPoints(config);
      expect(live.length).toBeGreaterThan(100);
      // The same daemon config with a fresh, empty database.
      const empty = join(dir, "empty.yaml");
      const doc = parse(readFileSync(config, "utf8")) as { series: { database: string } };
      doc.series.database = `${doc.series.database}_backfill`;
      writeFileSync(empty, stringify(doc));
      logbench("backfill", "--from", "1995-07-01", "--to", "1995-09-01", "--config", empty);
      expect(await allPoints(empty)).toEqual(live);
    },
    LONG,
  );
});
