/**
 * Opens the daemon's bus, archive and series store from its config through the connector registries (the same
 * factories the daemon uses), and names each one the way an error line needs: what it is (never with a secret)
 * and which config field points at it.
 */
import type { Context } from "../../connectors/context.ts";
import {
  archives,
  buses,
  createArchiveStore,
  createBus,
  createSeriesStore,
  seriesStores,
} from "../../connectors/registry.ts";
import type { ArchiveStore, Bus, SeriesStore } from "../../connectors/types.ts";
import type { Config } from "../config/schema.ts";
import { reading } from "./source-error.ts";

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

/** What a bus, archive or series config points at (`label`, never a secret) and its address field. */
export function describeConnectors(
  config: Config,
): Record<"bus" | "archive" | "series", { label: string; field: string }> {
  return {
    bus: { label: buses.describe(config.bus), field: buses.field(config.bus) },
    archive: { label: archives.describe(config.archive), field: archives.field(config.archive) },
    series: { label: seriesStores.describe(config.series), field: seriesStores.field(config.series) },
  };
}

async function open<T>(what: string, d: { label: string; field: string }, make: () => Promise<T>): Promise<Opened<T>> {
  const source = `${what} (${d.label})`;
  return { source, label: d.label, field: d.field, value: await reading(source, d.field, make) };
}

/** The configured bus; failures to reach it are SourceErrors. */
export function openBus(config: Config, ctx: Context): Promise<Opened<Bus>> {
  return open("the bus", describeConnectors(config).bus, () => createBus(config.bus, ctx));
}

/** The configured archive store. */
export function openArchive(config: Config, ctx: Context): Promise<Opened<ArchiveStore>> {
  return open("the archive", describeConnectors(config).archive, () => createArchiveStore(config.archive, ctx));
}

/** The configured series store. */
export function openSeries(config: Config, ctx: Context): Promise<Opened<SeriesStore>> {
  return open("the series store", describeConnectors(config).series, () => createSeriesStore(config.series, ctx));
}

/** Run `fn` with an opened connector, turning failures into one-line SourceErrors and always closing it. */
export async function using<T extends { close(): Promise<void> }, R>(opened: Opened<T>, fn: (value: T) => Promise<R>) {
  try {
    return await reading(opened.source, opened.field, () => fn(opened.value));
  } finally {
    await opened.value.close().catch(() => undefined);
  }
}
