/**
 * Polling a JSON API end to end with the real daemon process on Kafka (librdkafka mock cluster), HDFS over WebHDFS
 * and InfluxDB 1.6: the same scenario and assertions as the embedded run (poll-scenario.ts).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { distributedConfig } from "./distributed-config.ts";
import { pollSource, populationApi, runPollScenario, withSources } from "./poll-scenario.ts";

describe("polling a JSON API (Kafka, WebHDFS, InfluxDB 1.x)", () => {
  it("archives each distinct record once and writes it as one point, across a SIGKILL", async () => {
    const api = await populationApi();
    try {
      const dir = mkdtempSync(join(tmpdir(), "logbench-dist-poll-"));
      const name = `poll${Date.now().toString(36)}`;
      // The records topic is created like every other topic (operators create topics; nothing auto-creates).
      const res = await fetch(inject("kafkaControlUrl"), {
        method: "POST",
        body: `topic weblogs-${name}.records.pop 3`,
      });
      expect(res.status).toBe(200);
      const config = withSources(await distributedConfig(dir, name), [pollSource(api.url)]);
      await runPollScenario(config, api);
    } finally {
      await api.close();
    }
  });
});
