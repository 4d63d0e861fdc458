/**
 * A daemon config for the shared distributed test servers: Kafka (librdkafka mock cluster, fresh topics with 3
 * partitions), WebHDFS (fresh root) and InfluxDB 1.x (fresh database), named after the test run.
 */
import { join } from "node:path";
import { expect, inject } from "vitest";
import { writeConfig } from "./harness.ts";

async function kafka(command: string): Promise<void> {
  const res = await fetch(inject("kafkaControlUrl"), { method: "POST", body: command });
  expect(res.status, `mock cluster command "${command}": ${await res.text()}`).toBe(200);
}

/** The spool source by default (with `sourceOverrides`), or the given `sources`. */
export async function distributedConfig(
  dir: string,
  name: string,
  sourceOverrides: Record<string, unknown> = {},
  sources?: Record<string, unknown>[],
) {
  const topic = `weblogs-${name}`;
  await kafka(`topic ${topic} 3`);
  await kafka(`topic ${topic}.dlq 3`);
  return writeConfig(dir, {
    topic,
    deadLetters: { topic: `${topic}.dlq` },
    bus: { type: "kafka", brokers: inject("kafkaBootstrap").split(","), clientId: `e2e-${name}`, sessionTimeout: "6s" },
    archive: { type: "webhdfs", url: inject("webhdfsUrl"), root: `/e2e/${name}`, user: "logbench" },
    series: { type: "influxdb-v1", url: inject("influxV1Url"), database: `e2e_${name.replaceAll("-", "_")}` },
    sources: sources ?? [
      {
        type: "spooldir",
        name: "spool",
        dir: join(dir, "spool"),
        format: "clf",
        batchLines: 200,
        pollInterval: "200ms",
        ...sourceOverrides,
      },
    ],
    archiver: { group: `archive-${name}`, roll: { records: 700, idle: "1s", interval: "1m", size: "64MB" } },
    aggregator: { group: `aggregate-${name}`, flushInterval: "300ms", lateness: "5m" },
  });
}
