/**
 * The distributed path end to end with the real daemon process: Kafka (librdkafka mock cluster, 3 partitions),
 * HDFS over WebHDFS (the spec-faithful test server) and InfluxDB 1.6 (real influxd). Same assertions as the
 * embedded run, including SIGKILL in the middle and a restart, and the tailed log rotated both ways mid-run.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";
import { killMidFileAndRestart, runToCompletion } from "./check.ts";
import { distributedConfig } from "./distributed-config.ts";
import { expectedFromFiles } from "./expected.ts";
import { SAMPLES } from "./harness.ts";
import { tailRotatedBothWays, tailSource } from "./tail-scenario.ts";

const FILES = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
const expected = expectedFromFiles(FILES);

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

  it("archives a tailed log exactly, rotated by rename and by copytruncate mid-run, across a SIGKILL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dist-tail-"));
    const config = await distributedConfig(dir, `tail${Date.now().toString(36)}`, {}, [tailSource(dir)]);
    await tailRotatedBothWays(dir, config, { timeoutMs: 150_000 });
  }, 300_000);
});
