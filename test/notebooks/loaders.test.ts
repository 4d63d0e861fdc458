/**
 * A data loader that cannot reach its source must stop the build with one line a reader can act on: which
 * source, at which address, and the config field that points at it — no stack trace, no retry chatter, nothing
 * on stdout (Framework would publish it as the file). An empty embedded default, on the contrary, builds.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { packageRoot } from "../../pipeline/config/load.ts";
import { freePort } from "./helpers/files.ts";
import { run } from "./helpers/site.ts";

const TSX = join(packageRoot, "node_modules/.bin/tsx");
const dir = mkdtempSync(join(tmpdir(), "logbench-loaders-"));
const local = {
  stateDir: join(dir, "state"),
  bus: { type: "local", dir: join(dir, "bus") },
  archive: { type: "local", dir: join(dir, "archive") },
  series: { type: "duckdb", file: join(dir, "series.duckdb") },
};

function config(name: string, overrides: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ ...local, ...overrides }));
  return file;
}

async function load(loader: string, configFile: string) {
  return run(
    TSX,
    [join(packageRoot, "notebooks/data", `${loader}.ts`)],
    { ...process.env, LOGBENCH_CONFIG: configFile },
    120_000,
  );
}

describe("notebook data loaders", () => {
  it("fail with one line naming the unreachable source and its config field", async () => {
    const closed = await freePort(); // nothing listens there
    const address = `127.0.0.1:${closed}`;
    const cases: Array<[string, string, string]> = [
      [
        "stream.arrow",
        config("kafka", { bus: { type: "kafka", brokers: [address], connectionTimeout: "500ms", retries: 0 } }),
        "bus.brokers",
      ],
      [
        "status.json",
        config("kafka", { bus: { type: "kafka", brokers: [address], connectionTimeout: "500ms", retries: 0 } }),
        "bus.brokers",
      ],
      [
        "daily.json",
        config("hdfs", { archive: { type: "webhdfs", url: `http://${address}`, retries: 0 } }),
        "archive.url",
      ],
      [
        "daily-events.arrow",
        config("hdfs", { archive: { type: "webhdfs", url: `http://${address}`, retries: 0 } }),
        "archive.url",
      ],
      [
        "archive.arrow",
        config("hdfs", { archive: { type: "webhdfs", url: `http://${address}`, retries: 0 } }),
        "archive.url",
      ],
      ["series.arrow", config("influx", { series: { type: "influxdb-v1", url: `http://${address}` } }), "series.url"],
      ["windows.json", config("influx", { series: { type: "influxdb-v1", url: `http://${address}` } }), "series.url"],
    ];
    for (const [loader, file, field] of cases) {
      const result = await load(loader, file);
      expect(result.code, loader).not.toBe(0);
      expect(result.stdout, `${loader} published nothing`).toBe("");
      const lines = result.stderr.split("\n").filter((l) => l.trim() !== "");
      expect(lines, loader).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^logbench loader data/${loader.replace(".", "\\.")}: cannot read `));
      expect(lines[0]).toContain(address);
      expect(lines[0]).toContain(`config field ${field}`);
    }
  }, 180_000);

  it("fail with one line naming the config file when it cannot be read", async () => {
    const result = await load("build.json", join(dir, "missing.yaml"));
    expect(result.code).not.toBe(0);
    const lines = result.stderr.split("\n").filter((l) => l.trim() !== "");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("missing.yaml");
    expect(lines[0]).toContain("LOGBENCH_CONFIG");
  }, 60_000);

  it("produce empty but valid files from stores nothing was written to yet", async () => {
    const file = config("empty", {});
    const daily = await load("daily.json", file);
    expect(daily.code, daily.stderr).toBe(0);
    expect(JSON.parse(daily.stdout)).toMatchObject({ day: null, days: null, range: null, files: [] });
    const events = await load("daily-events.arrow", file);
    expect(events.code, events.stderr).toBe(0);
    const windows = await load("windows.json", file);
    expect(windows.code, windows.stderr).toBe(0);
    expect(JSON.parse(windows.stdout).windows).toEqual([]);
    const status = await load("status.json", file);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ deadLetters: 0, archiveFiles: 0, newestArchivePartition: null });
  }, 120_000);
});
