/**
 * The seed project's third scenario, "the generator at a rate", with the real daemon process on the embedded
 * default and on Kafka + WebHDFS + InfluxDB 1.x: a generator source with a count. What must come out is computed
 * on an independent path: the lines `logbench generate` prints for the same seed, format, count and start, and
 * a per-minute count of their timestamps read here with a regex.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { packageRoot } from "../../pipeline/config/load.ts";
import { counts } from "./check.ts";
import { distributedConfig } from "./distributed-config.ts";
import { multisetDiff } from "./expected.ts";
import { query, startDaemon, stopDaemon, waitFor, writeConfig } from "./harness.ts";

const COUNT = 3_000;
// 1,000 lines/s of event time from 1.5 s before a minute boundary: the lines fall into two minutes.
const SOURCE = {
  type: "generator",
  name: "synth",
  format: "combined",
  rate: 1_000,
  seed: 42,
  count: COUNT,
  start: "2024-01-01T00:00:58.500Z",
};

function expectedLines(): string[] {
  const r = spawnSync(
    process.execPath,
    [
      resolve(packageRoot, "bin/logbench.js"),
      "generate",
      ...["--seed", "42", "--count", String(COUNT), "--format", "combined", "--start", SOURCE.start],
      ...["--rate", String(SOURCE.rate)],
    ],
    { encoding: "utf8", timeout: 90_000, maxBuffer: 64 << 20 },
  );
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.split("\n");
  expect(lines.pop()).toBe("");
  return lines;
}

const TIME = /\[(\d\d)\/Jan\/2024:(\d\d):(\d\d):(\d\d) \+0000\]/;

function perMinute(lines: string[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of lines) {
    const [, d, h, m] = TIME.exec(line)!;
    const minute = Date.UTC(2024, 0, Number(d), Number(h), Number(m));
    out.set(minute, (out.get(minute) ?? 0) + 1);
  }
  return out;
}

async function runGenerator(config: string, lines: string[]): Promise<void> {
  const daemon = startDaemon(config);
  try {
    await waitFor(
      "every generated line through the pipeline",
      () => counts(config),
      (c) => c.events >= COUNT && c.windowed >= COUNT,
      { daemon, timeoutMs: 150_000 },
    );
    expect(await stopDaemon(daemon), daemon.stderr().slice(-2000)).toBe(0);
    const c = await counts(config);
    expect(c).toEqual({ events: COUNT, dead: 0, windowed: COUNT, late: 0 });
    const archived = (await query(config, "select raw from events")).map((r) => String(r.raw));
    expect(multisetDiff(archived, lines), "archived lines vs logbench generate").toEqual({ missing: [], extra: [] });
    const rows = await query(config, "select time, sum(count) as n from requests group by time order by time");
    const expected = perMinute(lines);
    expect(expected.size).toBe(2);
    expect(new Map(rows.map((r) => [Number(r.time), Number(r.n)]))).toEqual(expected);
  } finally {
    await stopDaemon(daemon, "SIGKILL");
  }
}

describe("generator source at a rate, end to end", () => {
  const lines = expectedLines();

  it("embedded default: exactly the generated lines archived, none dead, every minute counted", async () => {
    expect(lines).toHaveLength(COUNT);
    const dir = mkdtempSync(join(tmpdir(), "logbench-e2e-gen-"));
    await runGenerator(writeConfig(dir, { sources: [SOURCE] }), lines);
  });

  it("Kafka + WebHDFS + InfluxDB 1.x: the same", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-dist-gen-"));
    const config = await distributedConfig(dir, `gen${Date.now().toString(36)}`);
    const yaml = parse(readFileSync(config, "utf8")) as Record<string, unknown>;
    writeFileSync(config, stringify({ ...yaml, sources: [SOURCE] }));
    await runGenerator(config, lines);
  });
});
