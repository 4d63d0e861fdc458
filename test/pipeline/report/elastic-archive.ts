/**
 * The elastic sample as the archive stage lays it out (one Parquet file per UTC hour), its one dead letter (line
 * 8899, truncated inside its agent) on the embedded bus, and a config that reads both: what `logbench report`
 * and the notebooks' daily report are tested on.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { createLogger, MetricsRegistry } from "../../../connectors/context.ts";
import { createBus } from "../../../connectors/registry.ts";
import { ParquetEncoder } from "../../../pipeline/archive/parquet.ts";
import { loadConfig, packageRoot } from "../../../pipeline/config/load.ts";
import { createParser } from "../../../pipeline/ingest/parse/index.ts";
import type { DeadLetter, LogEvent } from "../../../pipeline/model/log-event.ts";

export const ELASTIC_SAMPLE = join(packageRoot, "data/samples/elastic-apache-combined.log");

export interface ElasticArchive {
  dir: string;
  configFile: string;
  /** The sample's lines, without newlines. */
  lines: string[];
  dead: DeadLetter[];
}

export async function writeElasticArchive(): Promise<ElasticArchive> {
  const dir = mkdtempSync(join(tmpdir(), "logbench-elastic-"));
  const lines = readFileSync(ELASTIC_SAMPLE, "utf8").trimEnd().split("\n");
  const parser = createParser("combined", { keepRaw: false });
  const byHour = new Map<string, LogEvent[]>();
  const dead: DeadLetter[] = [];
  for (const [i, line] of lines.entries()) {
    const r = parser.parse(new TextEncoder().encode(line), "elastic");
    if (!r.ok) {
      dead.push({
        at: Date.now(),
        source: "elastic",
        file: ELASTIC_SAMPLE,
        line: i + 1,
        offset: null,
        reason: r.reason,
        raw: line,
        rawBase64: Buffer.from(line).toString("base64"),
      });
      continue;
    }
    const iso = new Date(r.event.ts).toISOString();
    const key = `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
    byHour.set(key, [...(byHour.get(key) ?? []), r.event]);
  }
  const encoder = await ParquetEncoder.create(join(dir, "scratch"));
  for (const [bucket, events] of byHour) {
    mkdirSync(join(dir, "archive/weblogs", bucket), { recursive: true });
    writeFileSync(join(dir, "archive/weblogs", bucket, "part-0-0-1.parquet"), await encoder.encode(events, "zstd"));
  }
  await encoder.close();
  const configFile = join(dir, "logbench.yaml");
  writeFileSync(
    configFile,
    stringify({
      stateDir: "state",
      bus: { type: "local", dir: "bus" },
      archive: { type: "local", dir: "archive" },
      series: { type: "duckdb", file: "series.duckdb" },
      sources: [],
    }),
  );
  const config = await loadConfig(configFile, {});
  const ctx = {
    logger: createLogger({ level: "error", write: () => {} }),
    metrics: new MetricsRegistry(),
    signal: new AbortController().signal,
  };
  const bus = await createBus(config.bus, ctx);
  await bus.produce(
    config.deadLetters.topic,
    dead.map((d) => ({ key: d.source, value: JSON.stringify(d), timestamp: d.at })),
  );
  await bus.close();
  return { dir, configFile, lines, dead };
}
