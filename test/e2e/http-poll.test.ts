/**
 * Polling a JSON API end to end with the real daemon process (poll-scenario.ts), on the embedded default and on
 * Kafka + WebHDFS + InfluxDB 1.x, with a SIGKILL and a restart in between.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { distributedConfig } from "./distributed-config.ts";
import { writeConfig } from "./harness.ts";
import { pollSource, populationApi, runPollScenario, withSources } from "./poll-scenario.ts";

describe("polling a JSON API", () => {
  it("embedded: each distinct record archived once and written as one point, across a SIGKILL", async () => {
    const api = await populationApi();
    try {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-poll-"));
      const config = writeConfig(dir, { sources: [pollSource(api.url)] });
      await runPollScenario(config, api);
    } finally {
      await api.close();
    }
  });

  it("Kafka + WebHDFS + InfluxDB 1.x: the same, on the distributed servers", async () => {
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
