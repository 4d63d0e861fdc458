/**
 * Polling a JSON API end to end with the real daemon process on the embedded default (poll-scenario.ts): a SIGKILL
 * and a restart in between, records, points and dead letters checked against what the test server served.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { writeConfig } from "./harness.ts";
import { pollSource, populationApi, runPollScenario } from "./poll-scenario.ts";

describe("polling a JSON API (local bus, local archive, DuckDB series)", () => {
  it("archives each distinct record once and writes it as one point, across a SIGKILL", async () => {
    const api = await populationApi();
    try {
      const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-poll-"));
      await runPollScenario(writeConfig(dir, { sources: [pollSource(api.url)] }), api);
    } finally {
      await api.close();
    }
  });
});
