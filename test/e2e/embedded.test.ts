/**
 * The embedded default end to end, with the real daemon process: spool two real NASA logs (one clean, one
 * damaged), then check archive, dead letters and per-minute series against what the files say; then the same
 * after a SIGKILL in the middle of a run and a restart.
 */
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { complete, counts, expectExactOutput } from "./check.ts";
import { expectedFromFiles } from "./expected.ts";
import { SAMPLES, spool, startDaemon, stopDaemon, waitFor, writeConfig } from "./harness.ts";

const FILES = [join(SAMPLES, "nasa-jul95-first1000.log"), join(SAMPLES, "nasa-aug95-excerpt-broken.log")];
const expected = expectedFromFiles(FILES);

describe("embedded pipeline (local bus, local archive, DuckDB series)", () => {
  it("archives every parseable line once, dead-letters the rest, and counts every minute right", async () => {
    expect(expected.good.length).toBe(2841);
    expect(expected.bad.length).toBe(89);
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-"));
    const config = writeConfig(dir, {});
    spool(join(dir, "spool"), FILES);
    const daemon = startDaemon(config);
    try {
      await waitFor("all lines through the pipeline", () => counts(config), complete(expected), { daemon });
      await waitFor(
        "spooled files marked .COMPLETED",
        async () => readdirSync(join(dir, "spool")),
        (names) => names.filter((n) => n.endsWith(".COMPLETED")).length === 2,
        { daemon },
      );
      expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
      await expectExactOutput(config, expected);
    } finally {
      await stopDaemon(daemon, "SIGKILL");
    }
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
    spool(join(dir, "spool"), FILES);
    const first = startDaemon(config);
    // Kill while the spool source is inside a file: its saved position is past the start and not done.
    const positions = join(dir, "state", "positions", "spool.json");
    const midFile = await waitFor(
      "the spool source inside a file",
      async () =>
        JSON.parse(readFileSync(positions, "utf8")) as { files: Record<string, { offset: number; done: boolean }> },
      (p) => Object.values(p.files).some((f) => f.offset > 0 && !f.done),
      { daemon: first, intervalMs: 5 },
    );
    first.child.kill("SIGKILL");
    await first.exited;
    expect(Object.keys(midFile.files).length).toBeGreaterThan(0);
    const partial = await counts(config);
    expect(partial.events + partial.dead, "the kill must land before the run finished").toBeLessThan(
      expected.lines.length,
    );

    const second = startDaemon(config);
    try {
      await waitFor("all lines through the pipeline after restart", () => counts(config), complete(expected), {
        daemon: second,
      });
      expect(await stopDaemon(second)).toBe(0);
      await expectExactOutput(config, expected);
    } finally {
      await stopDaemon(second, "SIGKILL");
    }
  });
});
