import { readFile } from "node:fs/promises";
import { z } from "zod";
import { duration, httpUrl, secret } from "../config-helpers.ts";
import { LogbenchError } from "../errors.ts";

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

/**
 * The secret given inline (already ${ENV}-substituted) or read from its file (trailing newline dropped).
 * Returns undefined when neither is set; never puts the secret in an error message.
 */
export async function readSecret(
  inline: string | undefined,
  file: string | undefined,
  what: string,
): Promise<string | undefined> {
  if (inline) return inline;
  if (!file) return undefined;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new LogbenchError("CONFIG", `reading ${what} from ${file}: ${(err as Error).message}`, { cause: err });
  }
  const secret = text.replace(/\r?\n$/, "");
  if (!secret) throw new LogbenchError("CONFIG", `reading ${what} from ${file}: the file is empty`);
  return secret;
}
