/**
 * The push sources on Kafka (librdkafka mock cluster), WebHDFS and InfluxDB 1.6, with the real daemon: a NASA
 * log streamed over TCP with a delay, and the elastic sample pushed over HTTP.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { distributedConfig } from "./distributed-config.ts";
import { httpScenario, httpSourceConfig, TOKEN, tcpScenario, tcpSourceConfig, withSource } from "./push-scenarios.ts";

/** The scenarios run the real daemon and poll DuckDB catalogs: minutes on a loaded CI machine. */
const SCENARIO_TIMEOUT_MS = 300_000;

describe("push sources, distributed pipeline (Kafka, WebHDFS, InfluxDB 1.x)", () => {
  it(
    "the NASA sample streamed over TCP with a delay: every line an event or a dead letter, windows exact",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-dist-tcp-"));
      const config = await distributedConfig(dir, `tcp${Date.now().toString(36)}`);
      await tcpScenario(dir, withSource(config, tcpSourceConfig));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "the elastic sample pushed over HTTP: 9,999 events + 1 dead letter, answered only once durable",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-dist-http-"));
      const config = await distributedConfig(dir, `http${Date.now().toString(36)}`);
      await httpScenario(withSource(config, httpSourceConfig, { api: { port: 0, token: TOKEN } }));
    },
    SCENARIO_TIMEOUT_MS,
  );
});
