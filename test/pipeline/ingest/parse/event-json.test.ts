/**
 * The CLI writes events with encodeEvent instead of JSON.stringify: the bytes must be the same for
 * every event a parser can build, escapes, non-BMP characters and lone surrogates included.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodedBound, encodeEvent } from "../../../../pipeline/ingest/parse/event-json.ts";
import { createParser } from "../../../../pipeline/ingest/parse/index.ts";
import type { LogEvent } from "../../../../pipeline/model/log-event.ts";

const bytesOf = (e: LogEvent): string => {
  const buf = new Uint8Array(encodedBound(e) + 16).fill(0xff);
  const end = encodeEvent(e, buf, 8);
  expect(end - 8).toBeLessThanOrEqual(encodedBound(e));
  expect(buf[end]).toBe(0xff); // nothing written past the returned end
  return Buffer.from(buf.subarray(8, end)).toString("latin1");
};
const expected = (e: LogEvent): string => Buffer.from(JSON.stringify(e), "utf8").toString("latin1");

describe("encodeEvent", () => {
  it("writes the bytes of JSON.stringify for any field values", () => {
    // Long printable-ASCII strings too (with and without quotes and backslashes): they take the native copy.
    const longAscii = fc.string({ minLength: 12, maxLength: 80 });
    const longPlain = fc.string({ minLength: 12, maxLength: 80, unit: fc.constantFrom(..."abcXYZ019/._-:?=& ") });
    const text = fc.option(
      fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: "grapheme" }), fc.string(), longAscii, longPlain),
    );
    // Where the digit writer changes method or digit count: below and above 2^31, at 10^8 multiples, -0.
    const edges = fc.constantFrom(
      0,
      -0,
      9,
      10,
      99_999_999,
      100_000_000,
      100_000_001,
      2 ** 31 - 1,
      2 ** 31,
      1e15,
      1e15 + 7,
      2 ** 53 - 1,
      808_185_600_000,
    );
    const num = fc.option(fc.oneof(fc.nat({ max: 2 ** 53 - 1 }), fc.double(), fc.integer(), edges));
    const event = fc.record(
      {
        ts: fc.oneof(fc.integer({ min: -1e15, max: 1e15 }), fc.double(), edges),
        host: text,
        ident: text,
        user: text,
        method: text,
        path: text,
        query: text,
        protocol: text,
        status: num,
        bytes: num,
        referrer: text,
        agent: text,
        source: fc.string({ unit: "binary" }),
        raw: fc.string({ unit: "binary" }),
        extra: fc.dictionary(fc.string({ unit: "binary" }), fc.jsonValue()),
      },
      {
        requiredKeys: [
          "ts",
          "host",
          "ident",
          "user",
          "method",
          "path",
          "query",
          "protocol",
          "status",
          "bytes",
          "referrer",
          "agent",
          "source",
        ],
      },
    );
    fc.assert(
      fc.property(event, (e) => {
        expect(bytesOf(e as LogEvent)).toBe(expected(e as LogEvent));
      }),
      { numRuns: 1500 },
    );
  });

  it("writes the bytes of JSON.stringify for every event of the samples", () => {
    const cases: Array<[string, string]> = [
      ["nasa-aug95-excerpt-broken.log", "clf"],
      ["elastic-apache-combined.log", "combined"],
    ];
    for (const [file, format] of cases) {
      const parser = createParser(format, { keepRaw: true });
      const lines = readFileSync(new URL(`../../../../data/samples/${file}`, import.meta.url), "utf8").split("\n");
      let n = 0;
      for (const line of lines) {
        const out = parser.parseText(line, "s");
        if (!out.ok) continue;
        n++;
        expect(bytesOf(out.event)).toBe(expected(out.event));
      }
      expect(n).toBeGreaterThan(1000);
    }
  });
});
