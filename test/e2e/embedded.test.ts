/**
 * The embedded default end to end, with the real daemon process: spool two real NASA logs (one clean, one
 * damaged), then check archive, dead letters and per-minute series against what the files say; then the same
 * after a SIGKILL in the middle of a run and a restart; then the same lines written to a tailed log that is
 * rotated both ways mid-run (tail-scenario.ts).
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { killMidFileAndRestart, runToCompletion } from "./check.ts";
import { expectedFromFiles } from "./expected.ts";
import { SAMPLES, writeConfig } from "./harness.ts";
import { tailRotatedBothWays, tailSource } from "./tail-scenario.ts";

const FILES = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
const expected = expectedFromFiles(FILES);

describe("embedded pipeline (local bus, local archive, DuckDB series)", () => {
  it("archives every parseable line once, dead-letters the rest, and counts every minute right", async () => {
    expect(expected.good.length).toBe(2841);
    expect(expected.bad.length).toBe(89);
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-"));
    await runToCompletion(dir, writeConfig(dir, {}), FILES, expected);
    // Flume semantics: a spooled file is marked done only once every line is on the bus.
    expect(readdirSync(join(dir, "spool")).filter((n) => n.endsWith(".COMPLETED"))).toHaveLength(2);
  });

  it("loses nothing and doubles nothing across a SIGKILL in the middle of a run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-kill-"));
    // Small batches and rolls so the kill lands with work in every stage.
    const config = writeConfig(dir, {
      sources: [
        {
          type: "spooldir",
          name: "spool",
          dir: join(dir, "spool"),
          format: "clf",
          batchLines: 25,
          pollInterval: "100ms",
        },
      ],
      archiver: { roll: { records: 300, idle: "1s", interval: "1m", size: "64MB" } },
    });
    await killMidFileAndRestart(dir, config, FILES, expected);
  });

  it("archives a tailed log exactly, rotated by rename and by copytruncate mid-run, across a SIGKILL", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-tail-"));
    await tailRotatedBothWays(dir, writeConfig(dir, { sources: [tailSource(dir)] }), { timeoutMs: 150_000 });
  }, 300_000);
});
