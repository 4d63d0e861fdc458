/**
 * Fuzz (issue 11 §6) for the push sources: 10^5 random and mutated lines each through the tcp and the http
 * source (seeded, so a failure replays). Nothing may crash, and events + dead letters = lines sent, counted
 * here from what was sent. `FUZZ_LINES=1000000` runs the long version outside CI.
 */
import { Buffer } from "node:buffer";
import { mkdtempSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MetricsRegistry, silentLogger } from "../../../../connectors/context.ts";
import { createLocalArchive } from "../../../../connectors/local/archive-dir.ts";
import { createLocalBus } from "../../../../connectors/local/file-log.ts";
import { type ApiServer, startApi } from "../../../../pipeline/api/server.ts";
import { createHttpSource, httpSource } from "../../../../pipeline/ingest/sources/http.ts";
import { createTcpSource, tcpSource } from "../../../../pipeline/ingest/sources/tcp.ts";
import { recorder, runtime, sampleLines, until } from "./push-helpers.ts";

const LINES = Number(process.env.FUZZ_LINES ?? 100_000);
const MAX_LINE = 2048;
const SAMPLE = sampleLines("nasa-aug95-excerpt-broken.log").map((l) => Buffer.from(l));
const EXTRA = ["é", "日本", "🙂", "\u0301", "\r", "\t", "\u0000", '"', "[", "]", "-", " "].map((s) => Buffer.from(s));

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One line without a newline: a sample line as is, mutated, random bytes, or longer than MAX_LINE. */
function fuzzLine(rnd: () => number): Buffer {
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const kind = rnd();
  if (kind < 0.3) return pick(SAMPLE);
  if (kind < 0.45) {
    const out = Buffer.alloc(Math.floor(rnd() * 300));
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(rnd() * 256);
    return noNewline(out);
  }
  if (kind < 0.47) return Buffer.alloc(MAX_LINE + 1 + Math.floor(rnd() * 3000), 0x61);
  const line = Buffer.from(pick(SAMPLE));
  const edits = 1 + Math.floor(rnd() * 4);
  let out = line;
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rnd() * (out.length + 1));
    const op = rnd();
    if (op < 0.3 && out.length) out[Math.min(at, out.length - 1)] = Math.floor(rnd() * 256);
    else if (op < 0.5) out = out.subarray(0, at);
    else if (op < 0.75) out = Buffer.concat([out.subarray(0, at), pick(EXTRA), out.subarray(at)]);
    else
      out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + Math.floor(rnd() * 20)))]);
  }
  return noNewline(out);
}

function noNewline(b: Buffer): Buffer {
  for (let i = 0; i < b.length; i++) if (b[i] === 10) b[i] = 32;
  return b;
}

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup) await c();
  cleanup = [];
});

describe("push sources under fuzzed input", () => {
  it(`tcp: ${LINES} lines over 8 connections in random pieces, some cut mid-line: each an event or a dead letter`, async () => {
    const rnd = mulberry32(8);
    const rec = recorder();
    const t = runtime(rec);
    t.rt.parse = { maxLineBytes: MAX_LINE, keepRaw: false };
    const config = tcpSource.schema.parse({ type: "tcp", port: 0, format: "clf", batchLines: 2000 });
    const done = createTcpSource(config, t.rt).run();
    cleanup.push(async () => {
      t.abort();
      await done;
    });
    await until("listening", () => t.logs.some((l) => l.port));
    const port = Number(t.logs.find((l) => l.port)!.port);
    let sent = 0;
    const perConnection = LINES / 8;
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        const parts: Buffer[] = [];
        for (let i = 0; i < perConnection; i++) parts.push(fuzzLine(rnd), Buffer.from("\n"));
        // Every other connection ends inside a line: that cut line counts as sent too.
        if (c % 2 === 0) parts.push(Buffer.from(`cut${c} `), fuzzLine(rnd).subarray(0, 20));
        sent += perConnection + (c % 2 === 0 ? 1 : 0);
        const data = Buffer.concat(parts);
        const s = connect(port, "127.0.0.1");
        await new Promise((r) => s.once("connect", r));
        for (let at = 0; at < data.length; ) {
          const n = 1 + Math.floor(rnd() * 70_000);
          if (!s.write(data.subarray(at, at + n))) await new Promise((r) => s.once("drain", r));
          at += n;
        }
        await new Promise<void>((r) => s.end(() => r()));
      }),
    );
    await until("every line published", () => rec.events.length + rec.dead.length >= sent, 60_000);
    expect(rec.events.length + rec.dead.length).toBe(sent);
    expect(rec.dead.filter((d) => d.reason.length < 5)).toEqual([]);
    expect(rec.dead.filter((d) => /newline/.test(d.reason))).toHaveLength(4);
    expect(rec.events.length).toBeGreaterThan(sent * 0.25);
  });

  it(`http: ${LINES} lines in text/plain and NDJSON bodies: each an event or a dead letter, never a failed request`, async () => {
    const rnd = mulberry32(11);
    const ctx = { logger: silentLogger, metrics: new MetricsRegistry(), signal: new AbortController().signal };
    const dir = mkdtempSync(join(tmpdir(), "logbench-fuzz-"));
    const api: ApiServer = await startApi({
      host: "127.0.0.1",
      port: 0,
      bus: createLocalBus({ type: "local", dir: `${dir}/bus`, partitions: 1, fsync: false }, ctx),
      topics: { events: "weblogs", deadLetters: "weblogs.dlq" },
      groups: [],
      archive: createLocalArchive({ type: "local", dir: `${dir}/archive` }, ctx),
      metrics: ctx.metrics,
      logger: silentLogger,
      windows: () => [],
      onWindows: () => () => {},
      health: () => ({ ok: true, problems: [] }),
    });
    const rec = recorder();
    const t = runtime(rec, { http: api.ingest });
    t.rt.parse = { maxLineBytes: MAX_LINE, keepRaw: false };
    const done = createHttpSource(httpSource.schema.parse({ type: "http", name: "push", format: "clf" }), t.rt).run();
    cleanup.push(async () => {
      t.abort();
      await done;
      await api.close();
    });
    const totals = { events: 0, deadLetters: 0 };
    let sent = 0;
    for (let body = 0; sent < LINES; body++) {
      const n = Math.min(LINES - sent, 5000);
      const ndjson = body % 3 === 2;
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const line = fuzzLine(rnd);
        const wrapped = !ndjson || rnd() < 0.1 ? line : Buffer.from(JSON.stringify({ line: line.toString("utf8") }));
        parts.push(wrapped, Buffer.from("\n"));
      }
      sent += n;
      const res = await fetch(`${api.url}/api/ingest/push`, {
        method: "POST",
        headers: { "Content-Type": ndjson ? "application/x-ndjson" : "text/plain" },
        body: Buffer.concat(parts),
      });
      expect(res.status).toBe(200);
      const counts = (await res.json()) as { events: number; deadLetters: number };
      expect(counts.events + counts.deadLetters).toBe(n);
      totals.events += counts.events;
      totals.deadLetters += counts.deadLetters;
    }
    expect(totals.events + totals.deadLetters).toBe(sent);
    expect([rec.events.length, rec.dead.length]).toEqual([totals.events, totals.deadLetters]);
    expect(rec.dead.filter((d) => d.reason.length < 5)).toEqual([]);
  });
});
