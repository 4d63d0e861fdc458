/**
 * One registry per kind of connector. Adding one = its folder (schema and component in `config.ts`, the
 * implementation beside it) plus one line in the list of its kind here.
 */
import { defineRegistry } from "./component.ts";
import type { Context } from "./context.ts";
import { duckdbSeries } from "./duckdb/config.ts";
import { influxV1Series, influxV2Series } from "./influxdb/config.ts";
import { kafkaBus } from "./kafka/config.ts";
import { localArchive, localBus } from "./local/config.ts";
import type { ArchiveStore, Bus, SeriesStore } from "./types.ts";
import { webhdfsArchive } from "./webhdfs/config.ts";

export const buses = defineRegistry("bus", [localBus, kafkaBus]);
export const archives = defineRegistry("archive", [localArchive, webhdfsArchive]);
export const seriesStores = defineRegistry("series", [duckdbSeries, influxV1Series, influxV2Series]);

export type BusConfig = Parameters<typeof buses.create>[0];
export type ArchiveConfig = Parameters<typeof archives.create>[0];
export type SeriesConfig = Parameters<typeof seriesStores.create>[0];

export function createBus(config: BusConfig, ctx: Context): Promise<Bus> {
  return buses.create(config, ctx);
}

export function createArchiveStore(config: ArchiveConfig, ctx: Context): Promise<ArchiveStore> {
  return archives.create(config, ctx);
}

export function createSeriesStore(config: SeriesConfig, ctx: Context): Promise<SeriesStore> {
  return seriesStores.create(config, ctx);
}
