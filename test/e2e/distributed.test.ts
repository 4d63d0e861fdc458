/**
 * The distributed path end to end with the real daemon process: Kafka (librdkafka mock cluster, 3 partitions),
 * HDFS over WebHDFS (the spec-faithful test server) and InfluxDB 1.6 (real influxd). Same assertions as the
 * embedded run, including SIGKILL in the middle and a restart.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { killMidFileAndRestart, runToCompletion } from "./check.ts";
import { expectedFromFiles } from "./expected.ts";
import { SAMPLES, writeConfig } from "./harness.ts";

const FILES = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
const expected = expectedFromFiles(FILES);

async function kafka(command: string): Promise<void> {
  const res = await fetch(inject("kafkaControlUrl"), { method: "POST", body: command });
  expect(res.status, `mock cluster command "${command}": ${await res.text()}`).toBe(200);
}

async function distributedConfig(dir: string, name: string, sourceOverrides: Record<string, unknown> = {}) {
  const topic = `weblogs-${name}`;
  await kafka(`topic ${topic} 3`);
  await kafka(`topic ${topic}.dlq 3`);
  return writeConfig(dir, {
    topic,
    deadLetters: { topic: `${topic}.dlq` },
    bus: { type: "kafka", brokers: inject("kafkaBootstrap").split(","), clientId: `e2e-${name}`, sessionTimeout: "6s" },
    archive: { type: "webhdfs", url: inject("webhdfsUrl"), root: `/e2e/${name}`, user: "logbench" },
    series: { type: "influxdb-v1", url: inject("influxV1Url"), database: `e2e_${name.replaceAll("-", "_")}` },
    sources: [
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

describe("distributed pipeline (Kafka, WebHDFS, InfluxDB 1.x)", () => {
  it("archives every parseable line once, dead-letters the rest, and counts every minute right", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dist-"));
    const config = await distributedConfig(dir, `run${Date.now().toString(36)}`);
    await runToCompletion(dir, config, FILES, expected, { timeoutMs: 150_000 });
  });

  it("loses nothing and doubles nothing across a SIGKILL in the middle of a run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dist-kill-"));
    const config = await distributedConfig(dir, `kill${Date.now().toString(36)}`, {
      batchLines: 25,
      pollInterval: "100ms",
    });
    await killMidFileAndRestart(dir, config, FILES, expected, { timeoutMs: 150_000 });
  });
});
