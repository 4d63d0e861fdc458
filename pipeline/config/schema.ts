/**
 * The daemon's configuration: one zod schema, assembled from the component registries (each bus, archive,
 * series store and source brings its own schema) plus the stages' settings.
 * `loadConfig` (load.ts) turns YAML with ${ENV} substitution into a frozen, defaulted `Config`.
 */
import { z } from "zod";
import { duration, size } from "../../connectors/config-helpers.ts";
import { archives, buses, seriesStores } from "../../connectors/registry.ts";
import { alertsSchema } from "../alerts/schema.ts";
import { sources } from "../ingest/registry.ts";

export const rollSchema = z
  .object({
    size: size("128MB").default(128_000_000).describe("Roll a file when its buffered data reaches this size"),
    records: z.number().int().positive().default(1_000_000).describe("Roll a file after this many records"),
    interval: duration("10m").default(600_000).describe("Roll a file this long after its first record"),
    idle: duration("30s").default(30_000).describe("Roll when a partition has received nothing for this long"),
  })
  .strict();

export const configSchema = z
  .object({
    topic: z.string().min(1).default("weblogs").describe("Bus topic of LogEvents"),
    stateDir: z.string().default(".logbench/state").describe("Folder for source positions and other local state"),
    bus: buses.schema.prefault({ type: "local" }).describe("The message bus between sources and stages"),
    archive: archives.schema.prefault({ type: "local" }).describe("Where the archive stage writes Parquet files"),
    series: seriesStores.schema.prefault({ type: "duckdb" }).describe("Where the aggregate stage writes windows"),
    sources: z.array(sources.schema).default([]).describe("Where log lines come from"),
    parse: z
      .object({
        maxLineBytes: size("64KiB").default(65_536).describe("Longer lines become dead letters"),
        keepRaw: z.boolean().default(false).describe("Keep the original line in each event's `raw` field"),
      })
      .strict()
      .prefault({}),
    deadLetters: z
      .object({
        topic: z.string().default("weblogs.dlq").describe("Bus topic of dead letters"),
      })
      .strict()
      .prefault({}),
    archiver: z
      .object({
        enabled: z.boolean().default(true).describe("Run the archive consumer group in this daemon"),
        group: z.string().default("archive").describe("Consumer group name"),
        roll: rollSchema.prefault({}),
        compression: z.enum(["zstd", "snappy", "gzip", "uncompressed"]).default("zstd").describe("Parquet codec"),
      })
      .strict()
      .prefault({}),
    aggregator: z
      .object({
        enabled: z.boolean().default(true).describe("Run the aggregate consumer group in this daemon"),
        group: z.string().default("aggregate").describe("Consumer group name"),
        window: duration("60s")
          .default(60_000)
          .describe("Tumbling event-time window length (used when `windows` is not given)"),
        windows: z
          .array(
            z
              .object({
                size: duration("5m").describe("Window length"),
                slide: duration("1m")
                  .optional()
                  .describe("Distance between window starts (hopping windows); must divide size; default size"),
              })
              .strict()
              .refine((w) => w.slide === undefined || (w.slide <= w.size && w.size % w.slide === 0), {
                message: "slide must divide size",
              }),
          )
          .min(1)
          .optional()
          .describe("Window kinds kept side by side, each tagged `window` (60s, 5m/1m); replaces `window`"),
        idleTimeout: duration("30s")
          .default(30_000)
          .describe("Close a source's open windows in a partition after this long without its events (wall clock)"),
        lateness: duration("5m").default(300_000).describe("How late an event may be and still update its window"),
        flushInterval: duration("2s").default(2000).describe("How often windows are written and offsets committed"),
        topK: z.number().int().min(1).max(100).default(10).describe("Ranks kept in top_paths / top_hosts"),
      })
      .strict()
      .prefault({}),
    api: z
      .object({
        enabled: z.boolean().default(true).describe("Serve /healthz, /metrics and the live API"),
        host: z.string().default("127.0.0.1").describe("Listen address; anything but loopback requires a token"),
        port: z.number().int().min(0).max(65535).default(8787).describe("Listen port (0 = any free port)"),
        token: z
          .string()
          .min(16)
          .optional()
          .describe("Bearer token required by the API, normally ${LOGBENCH_API_TOKEN}"),
        tokenFile: z.string().optional().describe("File holding the API token"),
      })
      .strict()
      .prefault({}),
    alerts: alertsSchema.prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = Config["sources"][number];
export type RollPolicy = z.infer<typeof rollSchema>;
