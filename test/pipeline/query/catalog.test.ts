/** The catalog behind `logbench query`: reads what the archiver wrote, wherever it lives. */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { silentContext } from "../../../connectors/context.ts";
import { ParquetEncoder } from "../../../pipeline/archive/parquet.ts";
import { parseConfig } from "../../../pipeline/config/load.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";
import { runSql, tablesIn } from "../../../pipeline/query/catalog.ts";

const event = (path: string): LogEvent => ({
  ts: Date.UTC(1995, 6, 1, 4),
  host: "h",
  ident: null,
  user: null,
  method: "GET",
  path,
  query: null,
  protocol: "HTTP/1.0",
  status: 200,
  bytes: null,
  referrer: null,
  agent: null,
  source: "t",
});

describe("query catalog", () => {
  it("works in folders whose names hold a quote, and gives an empty typed view before any archive", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "logbench-catalog-")), "it's here");
    const config = parseConfig({ stateDir: "state", archive: { type: "local", dir: "o'archive" } }, { baseDir: dir });
    expect(await runSql(config, silentContext(), "select count(*) as n, count(status) as s from events")).toEqual([
      { n: 0, s: 0 },
    ]);

    const encoder = await ParquetEncoder.create(join(dir, "state", "tmp"));
    const bytes = await encoder.encode([event("/a"), event("/b'c")], "zstd");
    await encoder.close();
    const hour = join(dir, "o'archive", "weblogs", "dt=1995-07-01", "hour=04");
    mkdirSync(hour, { recursive: true });
    writeFileSync(join(hour, "part-0-0-1.parquet"), bytes);

    const rows = await runSql(config, silentContext(), "select path, bytes, raw from events order by path");
    expect(rows).toEqual([
      { path: "/a", bytes: null, raw: null },
      { path: "/b'c", bytes: null, raw: null },
    ]);
  });

  it("loads only the tables a query names, none for a query that names none, all to list them", async () => {
    expect(tablesIn("select count(*) from events where status >= 500")).toEqual(["events"]);
    expect(tablesIn("select * from dead_letters, gaps")).toEqual(["dead_letters", "gaps"]);
    expect(tablesIn("select sum(count) from requests_by_status")).toEqual(["series"]);
    // `select 1` must not read the bus's dead letters and the whole archive first (the CLI's start-up target).
    expect(tablesIn("select 1")).toEqual([]);
    expect(tablesIn("SELECT 42 AS answer")).toEqual([]);
    for (const sql of ["show tables", "DESCRIBE requests_x", "select table_name from information_schema.tables"])
      expect(tablesIn(sql)).toEqual(["events", "records", "dead_letters", "series", "gaps"]);
    // Names inside string literals and comments are not tables; quoted identifiers are.
    expect(tablesIn("select count(*) from events where path = '/gaps/it''s' -- and records\n")).toEqual(["events"]);
    expect(tablesIn("select 'show me the events' /* from dead_letters */ as s")).toEqual([]);
    expect(tablesIn("select E'it\\'s events' as s, count(*) from \"gaps\"")).toEqual(["gaps"]);
    expect(tablesIn("select * from read_parquet('archive/events/*.parquet')")).toEqual([]);

    const dir = mkdtempSync(join(tmpdir(), "logbench-catalog-"));
    const config = parseConfig({ stateDir: "state", archive: { type: "local", dir: "archive" } }, { baseDir: dir });
    expect(await runSql(config, silentContext(), "select 1 as one")).toEqual([{ one: 1 }]);
    const names = (await runSql(config, silentContext(), "show tables")).map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining(["events", "records", "dead_letters", "gaps", "requests"]));
  });
});
