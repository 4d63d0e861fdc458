/**
 * The archive's Parquet read by an independent reader (hyparquet, pure JS; not DuckDB, which wrote it).
 * Enabled once `hyparquet` is a devDependency: rename this file to parquet-independent.test.ts.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { describe, expect, it } from "vitest";
import { EVENT_LAYOUT, groupSpools, ParquetEncoder, type Spool } from "../../../pipeline/archive/parquet.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";

describe("the archive's Parquet, read by hyparquet", () => {
  it("declares ts as TIMESTAMP(MILLIS, UTC), has no dt/hour columns, and holds the instants written", async () => {
    const encoder = await ParquetEncoder.create(mkdtempSync(join(tmpdir(), "logbench-hyparquet-")));
    const ts = [Date.UTC(1995, 6, 1, 0, 0, 1, 123), Date.UTC(1995, 7, 31, 23, 59, 59, 999)];
    const bytes = await encoder.encode(
      ts.map((t, i) => ({
        ts: t,
        host: `h${i}`,
        ident: null,
        user: null,
        method: "GET",
        path: "/",
        query: null,
        protocol: "HTTP/1.0",
        status: 200,
        bytes: 1,
        referrer: null,
        agent: null,
        source: "t",
      })),
      "snappy",
    );
    await encoder.close();
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    const metadata = parquetMetadata(file);
    const names = metadata.schema.map((s) => s.name);
    expect(names).not.toContain("dt");
    expect(names).not.toContain("hour");
    const column = metadata.schema.find((s) => s.name === "ts")!;
    expect(column.type).toBe("INT64");
    expect(column.logical_type).toEqual({ type: "TIMESTAMP", isAdjustedToUTC: true, unit: "MILLIS" });
    const rows = (await parquetReadObjects({ file, columns: ["ts", "host"] })) as Array<{ ts: unknown }>;
    const ms = rows.map((r) => (r.ts instanceof Date ? r.ts.getTime() : Number(r.ts)));
    expect(ms).toEqual(ts);
  });
});

describe("the archive's Parquet from bus messages' JSON text (what the archive stage writes)", () => {
  const events: Array<LogEvent & { raw?: string }> = [
    {
      ts: Date.UTC(1995, 6, 1, 0, 0, 1, 123),
      host: "199.72.81.55",
      ident: null,
      user: "frank",
      method: "GET",
      path: '/a "quoted" \\ path\tés 😀',
      query: "x=1&y=\u0000",
      protocol: "HTTP/1.0",
      status: 200,
      bytes: 2 ** 40,
      referrer: null,
      agent: "Mozilla/5.0 (X11)",
      source: "nasa",
    },
    {
      ts: Date.UTC(1995, 7, 31, 23, 59, 59, 999),
      host: "h",
      ident: "-",
      user: null,
      method: null,
      path: null,
      query: null,
      protocol: null,
      status: null,
      bytes: null,
      referrer: "http://r/",
      agent: null,
      source: "s",
      raw: "the whole line",
    },
  ];

  it("holds exactly the events sent, with the row path's schema; missing keys are null, unknown keys ignored", async () => {
    const encoder = await ParquetEncoder.create(mkdtempSync(join(tmpdir(), "logbench-hyparquet-")));
    const enc = new TextEncoder();
    // As on the bus: JSON.stringify of each event; the second without its null keys, with a key no column has.
    const values = [
      enc.encode(JSON.stringify(events[0])),
      enc.encode(JSON.stringify({ ...events[1], user: undefined, method: undefined, extra: { nested: [1] } })),
    ];
    const fromJson = await encoder.encodeJson(values, EVENT_LAYOUT as never, "snappy");
    const fromRows = await encoder.encode(events, "snappy");
    await encoder.close();
    const read = async (bytes: Uint8Array) => {
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
      const metadata = parquetMetadata(file);
      const rows = (await parquetReadObjects({ file })) as Array<Record<string, unknown>>;
      return { metadata, rows };
    };
    const json = await read(fromJson);
    const rows = await read(fromRows);
    const schema = (m: typeof json.metadata) =>
      m.schema.map((s) => ({ name: s.name, type: s.type, logical: s.logical_type, converted: s.converted_type }));
    expect(schema(json.metadata)).toEqual(schema(rows.metadata));
    const plain = (r: Record<string, unknown>) =>
      Object.fromEntries(
        Object.entries(r).map(([k, v]) => [
          k,
          v instanceof Date ? v.getTime() : typeof v === "bigint" ? Number(v) : v === undefined ? null : v,
        ]),
      );
    const expected = events.map((e) => ({ ...e, raw: e.raw ?? null }));
    expect(json.rows.map(plain)).toEqual(expected);
    expect(rows.rows.map(plain)).toEqual(expected);
  });
});

describe("many spools encoded at once (encodeSpools: grouped reads, one file each)", () => {
  const enc = new TextEncoder();
  const line = (spool: number, i: number) =>
    JSON.stringify({
      ts: Date.UTC(1995, 6, 1) + spool * 3_600_000 + i,
      host: `s${spool}`,
      path: `/${spool}/${i}`,
      source: "t",
    });

  it("gives each spool its own file with exactly its lines in order, across group boundaries", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-spools-"));
    const encoder = await ParquetEncoder.create(dir);
    // 300 small spools (more than one group's 256 files), one of 5 MB (over a group's 4 MB: read alone) among
    // them, and an empty line count nowhere: every spool has at least one line.
    const counts = Array.from({ length: 300 }, (_, s) => (s === 280 ? 70_000 : 1 + ((s * 7) % 23)));
    const spools: Spool[] = [];
    for (const [s, n] of counts.entries()) {
      const path = encoder.spoolPath();
      const lines = Array.from({ length: n }, (_, i) => line(s, i));
      const text = `${lines.join("\n")}\n`;
      writeFileSync(path, text);
      spools.push({
        path,
        records: n,
        longest: Math.max(...lines.map((l) => l.length)),
        bytes: enc.encode(text).length,
      });
    }
    const groups = groupSpools(spools);
    expect(spools[280]!.bytes).toBeGreaterThan(4 * 1024 * 1024);
    expect(groups.find((g) => g.includes(spools[280]!))).toEqual([spools[280]]);
    expect(Math.max(...groups.map((g) => g.length))).toBe(64);
    const files: Uint8Array[] = [];
    for await (const bytes of encoder.encodeSpools(spools, EVENT_LAYOUT as never, "snappy")) files.push(bytes);
    await encoder.close();
    expect(files.length).toBe(300);
    for (const [s, bytes] of files.entries()) {
      const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
      expect(parquetMetadata(file).schema.find((c) => c.name === "ts")!.logical_type).toEqual({
        type: "TIMESTAMP",
        isAdjustedToUTC: true,
        unit: "MILLIS",
      });
      const rows = (await parquetReadObjects({ file, columns: ["path"] })) as Array<{ path: string }>;
      expect(rows.map((r) => r.path)).toEqual(Array.from({ length: counts[s]! }, (_, i) => `/${s}/${i}`));
    }
  }, 60_000);

  it("encodes one spool far larger than the encoder's memory limit (a roll of wide combined-log lines)", async () => {
    // 250,000 events of about 410 bytes of JSON each (over 96 MiB; 50 k lines/s of combined rolls that much in seconds):
    // with DuckDB's default row group of 122,880 rows the writer held more than its 64 MB and failed.
    const dir = mkdtempSync(join(tmpdir(), "logbench-spools-"));
    const encoder = await ParquetEncoder.create(dir);
    const n = 250_000;
    const agent =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        ts: Date.UTC(2024, 0, 1) + i,
        host: `10.0.${(i >> 8) & 255}.${i & 255}`,
        path: `/p/${i}`,
        status: 200,
        agent,
        source: "t",
        raw: `10.0.${(i >> 8) & 255}.${i & 255} - - [01/Jan/2024:00:00:00 +0000] "GET /p/${i} HTTP/1.1" 200 512 "-" "${agent}"`,
      }),
    );
    const path = encoder.spoolPath();
    const text = `${lines.join("\n")}\n`;
    writeFileSync(path, text);
    const spool = {
      path,
      records: n,
      longest: lines.reduce((m, l) => Math.max(m, l.length), 0),
      bytes: enc.encode(text).length,
    };
    expect(spool.bytes).toBeGreaterThan(96 * 1024 * 1024);
    const files: Uint8Array[] = [];
    for await (const bytes of encoder.encodeSpools([spool], EVENT_LAYOUT as never, "snappy")) files.push(bytes);
    await encoder.close();
    expect(files.length).toBe(1);
    const bytes = files[0]!;
    const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer;
    expect(Number(parquetMetadata(file).num_rows)).toBe(n);
    const rows = (await parquetReadObjects({ file, columns: ["path"] })) as Array<{ path: string }>;
    expect(rows.map((r) => r.path)).toEqual(Array.from({ length: n }, (_, i) => `/p/${i}`));
  }, 120_000);

  it("fails with a clear error when a spool holds other than the lines counted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logbench-spools-"));
    const encoder = await ParquetEncoder.create(dir);
    const spools: Spool[] = [0, 1].map((s) => {
      const path = encoder.spoolPath();
      const text = `${line(s, 0)}\n${line(s, 1)}\n`;
      writeFileSync(path, text);
      return { path, records: 2, longest: 200, bytes: text.length };
    });
    spools[1]!.records = 3;
    const encoded = async () => {
      for await (const _ of encoder.encodeSpools(spools, EVENT_LAYOUT as never, "snappy"));
    };
    await expect(encoded()).rejects.toThrow(/rows read, \d+ lines were spooled/);
    await encoder.close();
  });
});
