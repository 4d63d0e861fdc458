/**
 * docs/api.md's example loader, run as a user would run it: copied out of the Markdown into a project of its own
 * that has `logbench` installed (a symlink in its node_modules), executed with tsx, its Arrow output read back.
 * The archive it reads holds the NASA sample; the expected per-hour counts come from the raw lines with a regex,
 * not from logbench's parser.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { tableFromIPC } from "apache-arrow";
import { expect, it } from "vitest";
import { stringify } from "yaml";
import { ParquetEncoder } from "../../pipeline/archive/parquet.ts";
import { packageRoot } from "../../pipeline/config/load.ts";
import { createParser } from "../../pipeline/ingest/parse/index.ts";
import type { LogEvent } from "../../pipeline/model/log-event.ts";

const run = promisify(execFile);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

it("docs/api.md's data loader prints the archive's requests per hour as Arrow", async () => {
  const docs = readFileSync(join(packageRoot, "docs/api.md"), "utf8");
  const code = /```ts\n(\/\/ hourly\.arrow\.ts[\s\S]*?)```/.exec(docs)?.[1];
  expect(code, "docs/api.md holds the hourly.arrow.ts example").toBeTruthy();

  const dir = mkdtempSync(join(tmpdir(), "logbench-api-example-"));
  const lines = readFileSync(join(packageRoot, "data/samples/nasa-jul95-first1000.log"), "utf8").trimEnd().split("\n");
  const expected = new Map<number, number>();
  for (const line of lines) {
    const m = /\[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):\d\d:\d\d ([-+])(\d\d)(\d\d)\]/.exec(line)!;
    const offset = (m[5] === "-" ? -1 : 1) * (Number(m[6]) * 60 + Number(m[7])) * 60_000;
    const local = Date.UTC(Number(m[3]), MONTHS.indexOf(m[2]!), Number(m[1]), Number(m[4]));
    const hour = Math.floor((local - offset) / 3_600_000) * 3_600_000;
    expected.set(hour, (expected.get(hour) ?? 0) + 1);
  }

  // An archive as the archive stage lays it out: one Parquet file per UTC hour.
  const parser = createParser("clf", { keepRaw: false });
  const byHour = new Map<string, LogEvent[]>();
  for (const line of lines) {
    const result = parser.parse(new TextEncoder().encode(line), "docs");
    if (!result.ok) throw new Error(`sample line did not parse: ${line}`);
    const iso = new Date(result.event.ts).toISOString();
    const key = `dt=${iso.slice(0, 10)}/hour=${iso.slice(11, 13)}`;
    byHour.set(key, [...(byHour.get(key) ?? []), result.event]);
  }
  const encoder = await ParquetEncoder.create(join(dir, "scratch"));
  for (const [bucket, events] of byHour) {
    mkdirSync(join(dir, "archive/weblogs", bucket), { recursive: true });
    writeFileSync(join(dir, "archive/weblogs", bucket, "part-0-0-1.parquet"), await encoder.encode(events, "zstd"));
  }
  await encoder.close();
  writeFileSync(
    join(dir, "logbench.yaml"),
    stringify({ stateDir: "state", archive: { type: "local", dir: "archive" } }),
  );

  // The user's project: logbench and apache-arrow installed, the loader copied from the docs.
  mkdirSync(join(dir, "project/node_modules"), { recursive: true });
  symlinkSync(packageRoot, join(dir, "project/node_modules/logbench"));
  symlinkSync(join(packageRoot, "node_modules/apache-arrow"), join(dir, "project/node_modules/apache-arrow"));
  writeFileSync(join(dir, "project/package.json"), JSON.stringify({ type: "module", private: true }));
  writeFileSync(join(dir, "project/hourly.arrow.ts"), code!);
  const { stdout } = await run(join(packageRoot, "node_modules/.bin/tsx"), ["hourly.arrow.ts"], {
    cwd: join(dir, "project"),
    env: { ...process.env, LOGBENCH_CONFIG: join(dir, "logbench.yaml") },
    encoding: "buffer",
  });
  const table = tableFromIPC(stdout);
  const got = new Map(table.toArray().map((r) => [Number(r.hour), Number(r.requests)]));
  expect(got).toEqual(expected);
  expect([...got.values()].reduce((a, b) => a + b, 0)).toBe(1000);
});
