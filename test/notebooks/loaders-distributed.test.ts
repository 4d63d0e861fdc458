/**
 * The notebook data loaders on the distributed path: after the daemon has run on Kafka + WebHDFS + InfluxDB 1.x,
 * each loader reads the same servers through the same connectors and agrees with `logbench query`.
 */
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { packageRoot } from "../../pipeline/config/load.ts";
import { runToCompletion } from "../e2e/check.ts";
import { distributedConfig } from "../e2e/distributed-config.ts";
import { expectedFromFiles } from "../e2e/expected.ts";
import { query, SAMPLES } from "../e2e/harness.ts";

/** Runs one loader as Framework does and returns its stdout bytes (Arrow must not go through a string). */
function load(loader: string, configFile: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      join(packageRoot, "node_modules/.bin/tsx"),
      [join(packageRoot, "notebooks/data", `${loader}.ts`)],
      {
        cwd: packageRoot,
        env: { ...process.env, LOGBENCH_CONFIG: configFile },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${loader} exited ${code}: ${err}`)),
    );
  });
}

describe("notebook loaders on Kafka, WebHDFS and InfluxDB", () => {
  it("read what the daemon wrote, and agree with logbench query", async () => {
    const files = [join(SAMPLES, "nasa-jul95-first1000.log")];
    const dir = mkdtempSync(join(tmpdir(), "logbench-loaders-dist-"));
    const config = await distributedConfig(dir, `nb${Date.now().toString(36)}`);
    await runToCompletion(dir, config, files, expectedFromFiles(files), { timeoutMs: 150_000 });

    // Archive (WebHDFS, mirrored for DuckDB): the daily report's stamp and its events, with the panels' columns.
    const daily = JSON.parse((await load("daily.json", config)).toString("utf8")) as {
      day: string;
      range: { events: number };
      panels: Array<{ id: string }>;
    };
    expect(daily.day).toBe("1995-07-01");
    expect(daily.range.events).toBe(1000);
    expect(daily.panels.map((p) => p.id)).toContain("hosts");
    const hosts = new Map<string, number>();
    for (const row of tableFromIPC(await load("daily-events.arrow", config))) {
      const host = String(row.toJSON().host);
      hosts.set(host, (hosts.get(host) ?? 0) + 1);
    }
    const topHosts = await query(
      config,
      "select host, count(*) as requests from events group by host order by requests desc, host limit 10",
    );
    for (const r of topHosts) expect(hosts.get(String(r.host)), String(r.host)).toBe(Number(r.requests));

    // Archive rows for the browser, as Arrow.
    expect(tableFromIPC(await load("archive.arrow", config)).numRows).toBe(1000);

    // Series (InfluxDB 1.x): the per-window counts add up to the events.
    const series = tableFromIPC(await load("series.arrow", config));
    let counted = 0;
    for (const row of series) {
      const r = row.toJSON() as { measurement: string; field: string; value: number };
      if (r.measurement === "requests" && r.field === "count") counted += r.value;
    }
    expect(counted).toBe(1000);

    // The stream (Kafka): everything arrived within the last 15 minutes.
    expect(tableFromIPC(await load("stream.arrow", config)).numRows).toBe(1000);
  });
});
