/**
 * scanEventTs lets the archive spool a message without JSON.parse. It must never accept what decodeEvent (TextDecoder
 * and JSON.parse, the oracle) refuses or reads with another ts, and it must take the fast path for the events
 * logbench's own encoder writes from real logs.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { BusMessage } from "../../../connectors/types.ts";
import { encodedBound, encodeEvent } from "../../../pipeline/ingest/parse/event-json.ts";
import { createParser } from "../../../pipeline/ingest/parse/index.ts";
import { decodeEvent } from "../../../pipeline/model/decode-event.ts";
import { scanEventTs, scanWindowEvent, type WindowEvent } from "../../../pipeline/model/event-scan.ts";
import type { LogEvent } from "../../../pipeline/model/log-event.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const message = (value: Uint8Array): BusMessage => ({ partition: 0, offset: 0, key: null, value, timestamp: 0 });
const encoded = (e: LogEvent) => {
  const buf = Buffer.alloc(encodedBound(e));
  return new Uint8Array(buf.subarray(0, encodeEvent(e, buf, 0)));
};
/** What decodeEvent reads of the fields the windows count, or null when it refuses the message. */
const windowOracle = (b: Uint8Array): WindowEvent | null => {
  const d = decodeEvent(message(b));
  if (!("event" in d)) return null;
  const { ts, host, method, path, status, bytes, agent, source } = d.event;
  return { ts, host, method, path, status, bytes, agent, source };
};
/** The oracle's answer: the ts decodeEvent reads, or null when it refuses the message. */
const oracle = (b: Uint8Array): number | null => {
  const d = decodeEvent(message(b));
  return "event" in d ? d.event.ts : null;
};

const base: LogEvent = {
  ts: 804571201000,
  host: "199.72.81.55",
  ident: null,
  user: null,
  method: "GET",
  path: "/history/apollo/",
  query: null,
  protocol: "HTTP/1.0",
  status: 200,
  bytes: 6245,
  referrer: null,
  agent: null,
  source: "nasa",
};

describe("scanEventTs", () => {
  it("reads the ts of every event the encoder writes from the real samples, as decodeEvent does", () => {
    const cases: Array<[string, string, boolean]> = [
      ["nasa-jul95-first1000.log", "clf", false],
      ["nasa-aug95-excerpt-broken.log", "clf", true],
      ["elastic-apache-combined.log", "combined", false],
    ];
    for (const [file, format, keepRaw] of cases) {
      const parser = createParser(format, { keepRaw });
      const lines = readFileSync(new URL(`../../../data/samples/${file}`, import.meta.url), "utf8").split("\n");
      let fast = 0;
      let events = 0;
      for (const line of lines) {
        const out = parser.parseText(line, "s");
        if (!out.ok) continue;
        events++;
        const b = encoded(out.event);
        const ts = scanEventTs(b);
        if (ts === null) continue;
        fast++;
        expect(ts).toBe(oracle(b));
        const w = scanWindowEvent(b);
        if (w) expect(w).toEqual(windowOracle(b));
        else expect(b.includes(92), "only an escape in a counted field sends it the long way").toBe(true);
      }
      expect(events).toBeGreaterThan(900);
      // The samples' lines are ASCII but for a few user agents: nearly all take the fast path.
      expect(fast / events, file).toBeGreaterThan(0.99);
    }
  });

  it("accepts nothing decodeEvent refuses or reads otherwise: any event, any edit of its bytes, any bytes", () => {
    const text = fc.option(
      fc.oneof(
        fc.string(),
        fc.string({ unit: "binary" }),
        fc.string({ unit: fc.constantFrom(...'ab/\\"\t\n\u0000\u007f é') }),
      ),
    );
    const num = fc.option(fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e15, 1e16, 2 ** 53)));
    const record = (t: fc.Arbitrary<string | null>, n: fc.Arbitrary<number | null>, ts: fc.Arbitrary<number>) =>
      fc.record({
        ts,
        host: t,
        ident: t,
        user: t,
        method: t,
        path: t,
        query: t,
        protocol: t,
        status: n,
        bytes: n,
        referrer: t,
        agent: t,
        source: t.map((v) => v ?? ""),
      });
    // Any event, and events of printable ASCII and integers (the scanner's own ground, where edits reach it).
    // Quotes and backslashes rare, as in logs: an escape in a counted field sends the message the long way.
    const ascii = fc.option(
      fc.string({
        unit: fc.oneof(
          { weight: 30, arbitrary: fc.constantFrom(..."a0/-: .") },
          { weight: 1, arbitrary: fc.constantFrom('"', "\\") },
        ),
      }),
    );
    const event: fc.Arbitrary<LogEvent> = fc.oneof(
      record(
        text,
        num,
        fc.oneof(fc.integer({ min: -1e15, max: 1e15 }), fc.double({ noNaN: true }), fc.constantFrom(-0, 1e16)),
      ),
      record(ascii, fc.option(fc.integer()), fc.integer({ min: -1e15, max: 1e15 })),
    );
    const edit = fc.oneof(
      fc.record({ kind: fc.constant("set"), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("insert"), at: fc.nat(), byte: fc.constantFrom(32, 34, 44, 45, 46, 48, 92, 125) }),
      fc.record({ kind: fc.constant("delete"), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ kind: fc.constant("cut"), at: fc.nat(), byte: fc.constant(0) }),
      fc.record({ kind: fc.constant("append"), at: fc.nat(), byte: fc.constantFrom(32, 10, 44, 48, 125) }),
      // Where a value starts (after a key's colon): leading zeros, signs, fractions, spaces, strings for numbers.
      fc.record({ kind: fc.constant("value"), at: fc.nat(), byte: fc.constantFrom(48, 49, 45, 46, 101, 32, 34, 110) }),
    );
    const apply = (b: Uint8Array, edits: Array<{ kind: string; at: number; byte: number }>) => {
      let out = [...b];
      for (const { kind, at, byte } of edits) {
        const i = out.length ? at % out.length : 0;
        if (kind === "set") out[i] = byte;
        else if (kind === "insert") out.splice(i, 0, byte);
        else if (kind === "delete") out.splice(i, 1);
        else if (kind === "append") out.push(byte);
        else if (kind === "value") {
          const colons = out.flatMap((c, k) => (c === 58 ? [k] : []));
          if (colons.length) out.splice(colons[at % colons.length]! + 1, 0, byte);
        } else out = out.slice(0, i);
      }
      return Uint8Array.from(out);
    };
    let accepted = 0;
    let windowed = 0;
    fc.assert(
      fc.property(event, fc.array(edit, { maxLength: 3 }), (e, edits) => {
        const b = apply(encoded(e), edits);
        const ts = scanEventTs(b);
        if (ts !== null) {
          accepted++;
          expect(ts).toBe(oracle(b));
        }
        const w = scanWindowEvent(b);
        if (w !== null) {
          windowed++;
          expect(w).toEqual(windowOracle(b));
        }
      }),
      { numRuns: 5000 },
    );
    // The property is only as good as the cases the scanner accepts.
    expect(accepted).toBeGreaterThan(500);
    expect(windowed).toBeGreaterThan(300);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        const ts = scanEventTs(b);
        if (ts !== null) expect(ts).toBe(oracle(b));
        const w = scanWindowEvent(b);
        if (w !== null) expect(w).toEqual(windowOracle(b));
      }),
    );
  });

  it("leaves to decodeEvent what it does not certainly know, which still decodes it", () => {
    const json = JSON.stringify(base);
    const others = [
      json.replace('{"ts":', '{ "ts":'), // whitespace
      `${json} `,
      `{"source":"nasa",${json.slice(1).replace(',"source":"nasa"', "")}`, // another key order
      JSON.stringify({ ...base, extra: { a: 1 } }),
      JSON.stringify({ ...base, version: 2 }), // a field it does not know
      JSON.stringify({ ...base, ts: 804571201000.5 }),
      JSON.stringify({ ...base, bytes: 1.5 }),
      JSON.stringify({ ...base, path: "/é" }), // UTF-8
      json.replace('"ts":804571201000', '"ts":8.04571201e11'),
      json.replace('"/history/apollo/"', '"/history/\\u00e9"'),
    ];
    for (const text of others) {
      const b = utf8(text);
      // A \u escape of ASCII text is certain too; everything else here is the long way's to decide.
      if (!text.includes("\\u")) expect(scanEventTs(b), text).toBeNull();
      expect(oracle(b), text).not.toBeNull();
    }
    expect(scanEventTs(utf8(json))).toBe(base.ts);
    expect(scanEventTs(utf8(JSON.stringify({ ...base, raw: 'a "quoted" line' })))).toBe(base.ts);
    // Not a LogEvent, for either.
    for (const text of [
      JSON.stringify({ ...base, source: null }),
      JSON.stringify({ ...base, status: "200" }),
      json.replace('"ts":804571201000', '"ts":0804571201000'),
      json.replace('"GET"', '"G\tT"'),
      json.slice(0, -1),
    ]) {
      expect(scanEventTs(utf8(text)), text).toBeNull();
      expect(oracle(utf8(text)), text).toBeNull();
    }
  });
});
