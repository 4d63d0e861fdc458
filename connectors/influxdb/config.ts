import { z } from "zod";
import { type Component, hostOf } from "../component.ts";
import { duration, httpUrl, secret } from "../config-helpers.ts";
import type { Context } from "../context.ts";
import type { SeriesStore } from "../types.ts";

const maxRetries = () =>
  z
    .number()
    .int()
    .min(0)
    .max(20)
    .default(5)
    .describe("Retries of a request answered 429/5xx or not answered, with backoff honouring Retry-After");

export const influxV1Schema = z
  .object({
    type: z.literal("influxdb-v1"),
    url: httpUrl().describe("InfluxDB 1.x base URL, e.g. http://localhost:8086"),
    database: z.string().min(1).default("logbench").describe("Database the series are written to"),
    retentionPolicy: z.string().optional().describe("Retention policy; the database default when left out"),
    username: z.string().optional().describe("User name, when authentication is on"),
    password: secret().optional().describe("Password, normally ${INFLUX_PASSWORD}"),
    passwordFile: z.string().optional().describe("File holding the password"),
    createDatabase: z.boolean().default(true).describe("CREATE DATABASE at start when it is missing"),
    timeout: duration("10s").default(10_000).describe("Time allowed for one HTTP request"),
    maxRetries: maxRetries(),
  })
  .strict()
  .describe("InfluxDB 1.x: /write line protocol and InfluxQL /query");

export const influxV2Schema = z
  .object({
    type: z.literal("influxdb-v2"),
    url: httpUrl().describe("InfluxDB 2.x / Cloud URL"),
    org: z.string().min(1).describe("Organisation name or id"),
    bucket: z.string().min(1).describe("Bucket the series are written to"),
    token: secret().optional().describe("API token, normally ${INFLUX_TOKEN}"),
    tokenFile: z.string().optional().describe("File holding the API token"),
    timeout: duration("10s").default(10_000).describe("Time allowed for one HTTP request"),
    maxRetries: maxRetries(),
  })
  .strict()
  .describe("InfluxDB 2.x or Cloud through @influxdata/influxdb-client");

export type InfluxV1Config = z.infer<typeof influxV1Schema>;
export type InfluxV2Config = z.infer<typeof influxV2Schema>;

/** The InfluxDB 1.x series store component. */
export const influxV1Series: Component<typeof influxV1Schema, Context, Promise<SeriesStore>> = {
  type: "influxdb-v1",
  schema: influxV1Schema,
  create: async (config, ctx) => (await import("./v1.ts")).createInfluxV1Store(config, ctx),
  addressField: "url",
  describe: (config) => `influxdb-v1 ${config.url} db=${config.database}`,
  needs: (config) => ({ net: [hostOf(config.url)], read: config.passwordFile ? [config.passwordFile] : [] }),
  resolvePaths: (config, paths) => {
    if (!config.passwordFile) return;
    config.passwordFile = paths.abs(config.passwordFile);
    config.password ??= paths.secret(config.passwordFile, "passwordFile");
  },
};

/** The InfluxDB 2.x / Cloud series store component. */
export const influxV2Series: Component<typeof influxV2Schema, Context, Promise<SeriesStore>> = {
  type: "influxdb-v2",
  schema: influxV2Schema,
  create: async (config, ctx) => (await import("./v2.ts")).createInfluxV2Store(config, ctx),
  addressField: "url",
  describe: (config) => `influxdb-v2 ${config.url} org=${config.org} bucket=${config.bucket}`,
  needs: (config) => ({ net: [hostOf(config.url)], read: config.tokenFile ? [config.tokenFile] : [] }),
  resolvePaths: (config, paths) => {
    if (!config.tokenFile) return;
    config.tokenFile = paths.abs(config.tokenFile);
    config.token ??= paths.secret(config.tokenFile, "tokenFile");
  },
};
