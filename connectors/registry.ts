/** Builds the configured Bus, ArchiveStore and SeriesStore. Adding a connector = its folder plus a case here. */
import type { Context } from "./context.ts";
import type { DuckDbSeriesConfig } from "./duckdb/config.ts";
import { createDuckDbSeriesStore } from "./duckdb/series-store.ts";
import type { InfluxV1Config, InfluxV2Config } from "./influxdb/config.ts";
import { createInfluxV1Store } from "./influxdb/v1.ts";
import { createInfluxV2Store } from "./influxdb/v2.ts";
import { createKafkaBus } from "./kafka/bus.ts";
import type { KafkaBusConfig } from "./kafka/config.ts";
import { createLocalArchive } from "./local/archive-dir.ts";
import type { LocalArchiveConfig, LocalBusConfig } from "./local/config.ts";
import { createLocalBus } from "./local/file-log.ts";
import type { ArchiveStore, Bus, SeriesStore } from "./types.ts";
import { createWebHdfsArchive } from "./webhdfs/archive-store.ts";
import type { WebHdfsArchiveConfig } from "./webhdfs/config.ts";

export type BusConfig = LocalBusConfig | KafkaBusConfig;
export type ArchiveConfig = LocalArchiveConfig | WebHdfsArchiveConfig;
export type SeriesConfig = DuckDbSeriesConfig | InfluxV1Config | InfluxV2Config;

export function createBus(config: BusConfig, ctx: Context): Bus {
  return config.type === "kafka" ? createKafkaBus(config, ctx) : createLocalBus(config, ctx);
}

export function createArchiveStore(config: ArchiveConfig, ctx: Context): ArchiveStore {
  return config.type === "webhdfs" ? createWebHdfsArchive(config, ctx) : createLocalArchive(config, ctx);
}

export function createSeriesStore(config: SeriesConfig, ctx: Context): SeriesStore {
  switch (config.type) {
    case "duckdb":
      return createDuckDbSeriesStore(config, ctx);
    case "influxdb-v1":
      return createInfluxV1Store(config, ctx);
    case "influxdb-v2":
      return createInfluxV2Store(config, ctx);
  }
}

/** Where a connector points, for messages (never includes a secret). */
export function describeTarget(config: BusConfig | ArchiveConfig | SeriesConfig): string {
  switch (config.type) {
    case "kafka":
      return `kafka ${config.brokers.join(",")}`;
    case "webhdfs":
      return `webhdfs ${config.url}${config.root}`;
    case "influxdb-v1":
      return `influxdb-v1 ${config.url} db=${config.database}`;
    case "influxdb-v2":
      return `influxdb-v2 ${config.url} org=${config.org} bucket=${config.bucket}`;
    case "duckdb":
      return `duckdb ${config.file}`;
    case "local":
      return `local ${config.dir}`;
  }
}
