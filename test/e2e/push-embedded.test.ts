/**
 * The push sources on the embedded default (local bus, local archive, DuckDB series), with the real daemon:
 * a NASA log streamed over TCP with a delay, and the elastic sample pushed over HTTP.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { writeConfig } from "./harness.ts";
import { HTTP_ROLL, httpScenario, httpSourceConfig, TOKEN, tcpScenario, tcpSourceConfig } from "./push-scenarios.ts";

describe("push sources, embedded pipeline", () => {
  it("the NASA sample streamed over TCP with a delay: every line an event or a dead letter, windows exact", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-tcp-"));
    await tcpScenario(dir, writeConfig(dir, { sources: [tcpSourceConfig] }));
  });

  it("the elastic sample pushed over HTTP: 9,999 events + 1 dead letter, answered only once durable", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-http-"));
    await httpScenario(
      writeConfig(dir, { sources: [httpSourceConfig], api: { port: 0, token: TOKEN }, archiver: HTTP_ROLL }),
    );
  });
});
