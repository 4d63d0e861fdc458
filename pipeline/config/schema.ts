/**
 * The daemon's configuration: one zod schema, composed of each component's own schema.
 * `loadConfig` (load.ts) turns YAML with ${ENV} substitution into a frozen, defaulted `Config`.
 */
import { z } from "zod";
import { duration, size } from "../../connectors/config-helpers.ts";
import { duckdbSeriesSchema } from "../../connectors/duckdb/config.ts";
import { influxV1Schema, influxV2Schema } from "../../connectors/influxdb/config.ts";
import { kafkaBusSchema } from "../../connectors/kafka/config.ts";
import { localArchiveSchema, localBusSchema } from "../../connectors/local/config.ts";
import { webhdfsArchiveSchema } from "../../connectors/webhdfs/config.ts";

const format = z
  .string()
  .min(1)
  .default("combined")
  .describe('Log format: "clf", "combined", "nginx", "json", or an Apache LogFormat string');

export const spooldirSourceSchema = z
  .object({
    type: z.literal("spooldir"),
    name: z.string().default("spool").describe("Source name, the `source` field of its events"),
    dir: z.string().describe("Folder watched for complete log files"),
    format,
    include: z.string().default("*").describe('Glob of file names to take, e.g. "*.log"'),
    completedSuffix: z
      .string()
      .default(".COMPLETED")
      .describe("Suffix given to a file once all its lines are on the bus"),
    pollInterval: duration("1s").default(1000).describe("How often the folder is scanned"),
    batchLines: z.number().int().positive().default(5000).describe("Lines per bus batch"),
  })
  .strict()
  .describe("Flume-style spooling directory");

export const replaySourceSchema = z
  .object({
    type: z.literal("replay"),
    name: z.string().default("replay").describe("Source name, the `source` field of its events"),
    files: z.array(z.string()).min(1).describe("Log files replayed once, in order"),
    format,
    speed: z
      .number()
      .nonnegative()
      .default(0)
      .describe("0 = as fast as possible; N = N times the original pace from the lines' timestamps"),
    batchLines: z.number().int().positive().default(5000).describe("Lines per bus batch"),
  })
  .strict()
  .describe("Replays log files onto the bus once (remembering how far it got)");

export const sourceSchema = z.discriminatedUnion("type", [spooldirSourceSchema, replaySourceSchema]);

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
    bus: z.discriminatedUnion("type", [localBusSchema, kafkaBusSchema]).prefault({ type: "local" }),
    archive: z.discriminatedUnion("type", [localArchiveSchema, webhdfsArchiveSchema]).prefault({ type: "local" }),
    series: z
      .discriminatedUnion("type", [duckdbSeriesSchema, influxV1Schema, influxV2Schema])
      .prefault({ type: "duckdb" }),
    sources: z.array(sourceSchema).default([]).describe("Where log lines come from"),
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
        window: duration("60s").default(60_000).describe("Tumbling event-time window length"),
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
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SourceConfig = z.infer<typeof sourceSchema>;
export type RollPolicy = z.infer<typeof rollSchema>;
