/**
 * Opens the daemon's bus, archive and series store from its config through connectors/registry.ts, the same
 * factories the daemon uses, and names each one the way a loader's error line needs: what it is (never with a
 * secret: connectors/registry's describeTarget) and which config field points at it.
 */
import type { Context } from "../../../connectors/context.ts";
import { createArchiveStore, createBus, createSeriesStore, describeTarget } from "../../../connectors/registry.ts";
import type { ArchiveStore, Bus, SeriesStore } from "../../../connectors/types.ts";
import type { Config } from "../../../pipeline/config/schema.ts";
import { reading } from "./loader.ts";

/** A connector instance with the words that name it in messages and stamps. */
export interface Opened<T> {
  value: T;
  /** "the bus (kafka 10.0.0.5:9092)" */
  source: string;
  /** "bus.brokers" */
  field: string;
  /** "kafka 10.0.0.5:9092" */
  label: string;
}

/** The config field a reader fixes when a source cannot be reached. */
const FIELDS: Record<string, string> = {
  kafka: "bus.brokers",
  webhdfs: "archive.url",
  "influxdb-v1": "series.url",
  "influxdb-v2": "series.url",
  duckdb: "series.file",
};

export function describe(
  config: Config["bus"] | Config["archive"] | Config["series"],
  role: "bus" | "archive" | "series",
) {
  return { label: describeTarget(config), field: FIELDS[config.type] ?? `${role}.dir` };
}

async function open<T>(what: string, d: { label: string; field: string }, make: () => T): Promise<Opened<T>> {
  const source = `${what} (${d.label})`;
  return { source, label: d.label, field: d.field, value: await reading(source, d.field, async () => make()) };
}

export function openBus(config: Config, ctx: Context): Promise<Opened<Bus>> {
  return open("the bus", describe(config.bus, "bus"), () => createBus(config.bus, ctx));
}

export function openArchive(config: Config, ctx: Context): Promise<Opened<ArchiveStore>> {
  return open("the archive", describe(config.archive, "archive"), () => createArchiveStore(config.archive, ctx));
}

export function openSeries(config: Config, ctx: Context): Promise<Opened<SeriesStore>> {
  return open("the series store", describe(config.series, "series"), () => createSeriesStore(config.series, ctx));
}

/** Run `fn` with an opened connector, turning failures into one-line SourceErrors and always closing it. */
export async function using<T extends { close(): Promise<void> }, R>(opened: Opened<T>, fn: (value: T) => Promise<R>) {
  try {
    return await reading(opened.source, opened.field, () => fn(opened.value));
  } finally {
    await opened.value.close().catch(() => undefined);
  }
}
