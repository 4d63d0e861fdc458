import { z } from "zod";
import type { Component } from "../component.ts";
import { duration, secret } from "../config-helpers.ts";
import type { Context } from "../context.ts";
import type { Bus } from "../types.ts";

export const kafkaBusSchema = z
  .object({
    type: z.literal("kafka"),
    brokers: z.array(z.string().min(1)).min(1).describe("Bootstrap servers, host:port"),
    clientId: z.string().default("logbench").describe("Kafka client id"),
    ssl: z.boolean().default(false).describe("Connect with TLS"),
    sasl: z
      .object({
        mechanism: z.enum(["plain", "scram-sha-256", "scram-sha-512"]).describe("SASL mechanism"),
        username: z.string().describe("SASL user name"),
        password: secret().optional().describe("SASL password, normally ${KAFKA_PASSWORD}"),
        passwordFile: z.string().optional().describe("File holding the SASL password"),
      })
      .strict()
      .optional()
      .describe("SASL authentication; leave out for none"),
    connectionTimeout: duration("10s").default(10_000).describe("Time allowed to connect to a broker"),
    requestTimeout: duration("30s").default(30_000).describe("Time allowed for one request"),
    sessionTimeout: duration("30s").default(30_000).describe("Consumer group session timeout"),
    maxBatchBytes: z.number().int().positive().default(1_048_576).describe("Max bytes fetched per partition"),
    fetchMaxWait: duration("500ms")
      .default(500)
      .describe("Longest a fetch waits for new messages; also bounds how long stop() waits for a fetch in flight"),
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(3)
      .describe("Partitions whose batches are processed at the same time by one member"),
    retries: z.number().int().min(0).default(5).describe("Retries of a failing request before giving up"),
    stallTimeout: duration("10s")
      .default(10_000)
      .describe(
        "Restart the consumer when no batch arrived for this long while an assigned partition has messages to read (a fetch stuck after a leader move); 0 turns the watchdog off",
      ),
    allowAutoTopicCreation: z
      .boolean()
      .default(false)
      .describe("Let produce create a missing topic with the broker's defaults; off so a typo fails loudly"),
  })
  .strict()
  .describe("Apache Kafka through kafkajs");

export type KafkaBusConfig = z.infer<typeof kafkaBusSchema>;

/** The Kafka bus component (the implementation is loaded only when one is created). */
export const kafkaBus: Component<typeof kafkaBusSchema, Context, Promise<Bus>> = {
  type: "kafka",
  schema: kafkaBusSchema,
  create: async (config, ctx) => (await import("./bus.ts")).createKafkaBus(config, ctx),
  addressField: "brokers",
  describe: (config) => `kafka ${config.brokers.join(",")}`,
  needs: (config) => ({ net: [...config.brokers], read: config.sasl?.passwordFile ? [config.sasl.passwordFile] : [] }),
  resolvePaths: (config, paths) => {
    if (!config.sasl?.passwordFile) return;
    config.sasl.passwordFile = paths.abs(config.sasl.passwordFile);
    config.sasl.password ??= paths.secret(config.sasl.passwordFile, "sasl.passwordFile");
  },
};
