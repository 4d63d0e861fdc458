/**
 * The push sources on the embedded default (local bus, local archive, DuckDB series), with the real daemon:
 * a NASA log streamed over TCP with a delay, and the elastic sample pushed over HTTP.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startDaemon, writeConfig } from "./harness.ts";
import { HTTP_ROLL, httpScenario, httpSourceConfig, TOKEN, tcpScenario, tcpSourceConfig } from "./push-scenarios.ts";

/** The scenarios run the real daemon and poll DuckDB catalogs: minutes on a loaded CI machine. */
const SCENARIO_TIMEOUT_MS = 300_000;

describe("push sources, embedded pipeline", () => {
  it(
    "the NASA sample streamed over TCP with a delay: every line an event or a dead letter, windows exact",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-tcp-"));
      await tcpScenario(dir, writeConfig(dir, { sources: [tcpSourceConfig] }));
    },
    SCENARIO_TIMEOUT_MS,
  );

  it(
    "the elastic sample pushed over HTTP: 9,999 events + 1 dead letter, answered only once durable",
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-http-"));
      await httpScenario(
        writeConfig(dir, {
          sources: [httpSourceConfig],
          api: { port: 0, token: TOKEN },
          archiver: { roll: HTTP_ROLL },
        }),
      );
    },
    SCENARIO_TIMEOUT_MS,
  );

  it("refuses an http source when the API is disabled: exit 2 with the fix, nothing left running", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-noapi-"));
    const daemon = startDaemon(writeConfig(dir, { sources: [httpSourceConfig], api: { enabled: false } }));
    // The test timeout is the deadline: before the fix the process printed the error and never exited.
    expect(await daemon.exited).toBe(2);
    expect(daemon.stderr()).toContain(
      'the http source "push" is served by the daemon\'s API, which is disabled: set api.enabled: true',
    );
  });
});
