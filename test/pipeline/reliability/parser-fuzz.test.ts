/**
 * Fuzz (issue 11 §6) for the parsers: 10^6 seeded random and mutated lines through every format (the four
 * names and two LogFormat strings), in process. No parse may throw, every line is exactly one event or one
 * reason (events + dead letters = lines), and lines an independent regex calls valid are events.
 * `FUZZ_LINES` changes the count; `FUZZ_SEED` replays another seed.
 */
import { Buffer } from "node:buffer";
import { describe, expect, it } from "vitest";
import { createParser, type LineParser } from "../../../pipeline/ingest/parse/index.ts";
import { sampleLines } from "../ingest/sources/push-helpers.ts";

const LINES = Number(process.env.FUZZ_LINES ?? 1_000_000);
const SEED = Number(process.env.FUZZ_SEED ?? 20261201);

const FORMATS = [
  "clf",
  "combined",
  "nginx",
  "json",
  '%h %l %u %{%Y-%m-%d %H:%M:%S %z}t "%r" %>s %b "%{Referer}i" %D "%{User-agent}i"',
  '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent "$http_user_agent" $request_time',
];

// Independent of the parser: what a well-formed line of each sample looks like.
const CLF =
  /^[^ ]+ [^ ]+ [^ ]+ \[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[A-Z]+ [^ "]+( HTTP\/\d\.\d)?" \d{3} (\d+|-)$/;
const COMBINED =
  /^[^ ]+ [^ ]+ [^ ]+ \[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "[A-Z]+ [^ "]+ HTTP\/\d\.\d" \d{3} (\d+|-) "[^"\\]*" "[^"\\]*"$/;

const NASA = [...sampleLines("nasa-jul95-first1000.log"), ...sampleLines("nasa-aug95-excerpt-broken.log")];
const ELASTIC = sampleLines("elastic-apache-combined.log");
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/** The elastic sample's requests written in the other formats: JSON records and the two LogFormat strings. */
const REWRITTEN = ELASTIC.filter((l) => COMBINED.test(l))
  .slice(0, 500)
  .flatMap((l) => {
    const m = /^(\S+) \S+ \S+ \[([^\]]+)\] "(\S+ \S+ \S+)" (\d{3}) (\S+) "([^"]*)" "([^"]*)"$/.exec(l)!;
    const [, host, time, request, status, bytes, referrer, agent] = m as unknown as string[];
    const t = /^(\d{2})\/(\w{3})\/(\d{4}):(\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(time!)!;
    const month = String(MONTHS.indexOf(t[2]!) + 1).padStart(2, "0");
    const [method, path, protocol] = request!.split(" ");
    return [
      JSON.stringify({
        time,
        host,
        method,
        path,
        protocol,
        status: Number(status),
        bytes: bytes === "-" ? null : Number(bytes),
        referrer,
        agent,
      }),
      `${host} - - ${t[3]}-${month}-${t[1]} ${t[4]} ${t[5]}${t[6]} "${request}" ${status} ${bytes} "${referrer}" 1234 "${agent}"`,
      `${host} [${t[3]}-${month}-${t[1]}T${t[4]}${t[5]}:${t[6]}] "${request}" ${status} ${bytes} "${agent}" 0.012`,
    ];
  });
/** Real lines by the format they are written in, picked family first so that every format gets its share. */
const FAMILIES = [NASA, ELASTIC, ...[0, 1, 2].map((k) => REWRITTEN.filter((_, i) => i % 3 === k))].map((ls) =>
  ls.map((l) => Buffer.from(l)),
);
const INSERTS = [
  "é",
  "日本",
  "🙂",
  "\u0301",
  "\r",
  "\t",
  "\u0000",
  '"',
  "\\",
  "[",
  "]",
  "{",
  "}",
  ":",
  "-",
  " ",
  "\\x",
].map((s) => Buffer.from(s));

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A line: a real one as is (`intact`), mutated by 1–4 edits, random bytes, or random format characters. */
function fuzzLine(rnd: () => number): { bytes: Buffer; intact: boolean } {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rnd() * xs.length)]!;
  const seed = () => pick(pick(FAMILIES));
  const kind = rnd();
  if (kind < 0.2) return { bytes: seed(), intact: true };
  if (kind < 0.3) {
    const out = Buffer.alloc(Math.floor(rnd() * 300));
    for (let i = 0; i < out.length; i++) out[i] = Math.floor(rnd() * 256);
    return { bytes: out, intact: false };
  }
  if (kind < 0.4) {
    const parts: Buffer[] = [];
    for (let n = Math.floor(rnd() * 40); n > 0; n--) parts.push(pick(INSERTS), Buffer.from(String(rnd()).slice(2, 4)));
    return { bytes: Buffer.concat(parts), intact: false };
  }
  let out = Buffer.from(seed());
  for (let e = 1 + Math.floor(rnd() * 4); e > 0; e--) {
    const at = Math.floor(rnd() * (out.length + 1));
    const op = rnd();
    if (op < 0.3 && out.length > 0) out[Math.min(at, out.length - 1)] = Math.floor(rnd() * 256);
    else if (op < 0.45) out = out.subarray(0, at);
    else if (op < 0.75) out = Buffer.concat([out.subarray(0, at), pick(INSERTS), out.subarray(at)]);
    else if (op < 0.9) out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + Math.floor(rnd() * 20))]);
    else out = Buffer.concat([out.subarray(0, at), seed(), out.subarray(at)]); // two lines spliced
  }
  return { bytes: out, intact: false };
}

interface Tally {
  events: number;
  dead: number;
  thrown: Array<{ line: string; error: string }>;
  /** Intact lines the regex calls valid that did not parse, with the reason. */
  validRefused: Array<{ line: string; reason: string }>;
  validIntact: number;
}

function oracleFor(format: string): RegExp | null {
  if (format === "clf") return CLF;
  if (format === "combined") return COMBINED;
  return null;
}

describe("parsers under fuzzed input", () => {
  it(`${LINES} seeded lines through each of ${FORMATS.length} formats: no throw, each an event or a reason`, () => {
    const parsers: LineParser[] = FORMATS.map((f) => createParser(f));
    const tallies: Tally[] = FORMATS.map(() => ({ events: 0, dead: 0, thrown: [], validRefused: [], validIntact: 0 }));
    const oracles = FORMATS.map(oracleFor);
    const rnd = mulberry32(SEED);
    for (let i = 0; i < LINES; i++) {
      const { bytes, intact } = fuzzLine(rnd);
      // Odd lines as text, the way the tcp and http sources hand them over; even ones as bytes (files).
      const text = i % 2 === 1 ? bytes.toString("utf8") : null;
      const latin1 = intact ? bytes.toString("latin1") : "";
      for (let f = 0; f < parsers.length; f++) {
        const t = tallies[f]!;
        try {
          const out = text === null ? parsers[f]!.parse(bytes, "fuzz") : parsers[f]!.parseText(text, "fuzz");
          if (out.ok) t.events++;
          else if (typeof out.reason === "string" && out.reason.length > 0) t.dead++;
          else t.thrown.push({ line: bytes.toString("latin1"), error: "a dead letter without a reason" });
          if (intact && oracles[f]?.test(latin1)) {
            t.validIntact++;
            if (!out.ok && t.validRefused.length < 5) t.validRefused.push({ line: latin1, reason: out.reason });
          }
        } catch (err) {
          if (t.thrown.length < 5) t.thrown.push({ line: bytes.toString("latin1"), error: String(err) });
        }
      }
    }
    for (let f = 0; f < FORMATS.length; f++) {
      const t = tallies[f]!;
      const what = `format ${FORMATS[f]}`;
      expect(t.thrown, what).toEqual([]);
      expect(t.events + t.dead, what).toBe(LINES);
      expect(t.validRefused, what).toEqual([]);
    }
    // The mix reaches both outcomes of every format, and the oracle saw real valid lines of clf and combined.
    for (const t of tallies) expect(Math.min(t.events, t.dead)).toBeGreaterThan(LINES / 100);
    expect(Math.min(tallies[0]!.validIntact, tallies[1]!.validIntact)).toBeGreaterThan(LINES / 50);
  });
});
