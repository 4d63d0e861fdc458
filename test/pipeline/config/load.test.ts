import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultConfigPath, loadConfig, parseConfig } from "../../../pipeline/config/load.ts";

describe("config", () => {
  it("fills every default from an empty file, frozen", () => {
    const c = parseConfig({}, { baseDir: "/srv/lb" });
    expect(c.bus).toEqual({ type: "local", dir: "/srv/lb/.logbench/bus", partitions: 1, fsync: true });
    expect(c.archiver.roll).toEqual({ size: 128_000_000, records: 1_000_000, interval: 600_000, idle: 30_000 });
    expect(c.api.host).toBe("127.0.0.1");
    expect(Object.isFrozen(c.archiver.roll)).toBe(true);
  });

  it("substitutes ${ENV} in values only, with defaults, and never lets a variable inject YAML", () => {
    const c = parseConfig(
      {
        topic: "${TOPIC:-weblogs}",
        series: { type: "influxdb-v2", url: "http://i:8086", org: "o", bucket: "b", token: "${TOKEN}" },
      },
      { env: { TOKEN: "abc\nbus: {type: kafka}" } },
    );
    expect(c.topic).toBe("weblogs");
    expect(c.series.type === "influxdb-v2" && c.series.token).toBe("abc\nbus: {type: kafka}");
    expect(c.bus.type).toBe("local");
  });

  it("reads secrets from files and resolves paths against the config file's folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-config-"));
    writeFileSync(join(dir, "token"), "t0ken-from-file\n");
    writeFileSync(
      join(dir, "c.yaml"),
      "series: {type: influxdb-v2, url: 'http://i:8086', org: o, bucket: b, tokenFile: token}\nsources: [{type: spooldir, dir: spool}]\n",
    );
    const c = await loadConfig(join(dir, "c.yaml"), {});
    expect(c.series.type === "influxdb-v2" && c.series.token).toBe("t0ken-from-file");
    expect(c.sources[0]!.type === "spooldir" && c.sources[0]!.dir).toBe(join(dir, "spool"));
  });

  it("names the field and the reason for every problem, and rejects unknown keys", () => {
    let message = "";
    try {
      parseConfig({ aggregator: { window: "soon" }, bus: { type: "kafka", brokers: [] }, extra: 1 });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('aggregator.window: expected a duration like "60s", got "soon"');
    expect(message).toContain("bus.brokers: Too small");
    expect(message).toContain('(top level): Unrecognized key: "extra"');
  });

  it("the shipped embedded config loads", async () => {
    const c = await loadConfig(defaultConfigPath, {});
    expect(c.sources.map((s) => s.type)).toEqual(["replay", "spooldir"]);
    expect(c.api.host).toBe("127.0.0.1");
  });
});
