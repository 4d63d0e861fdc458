/**
 * The parser on the real sample logs (data/samples, provenance in its README). Expected counts are the
 * data's own facts (issue 4 §5, data/samples/README.md); expected fields are read in this test
 * independently, with a plain regex and Date.UTC, never with the parser's helpers.
 */
import { createReadStream, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { readLines } from "../../../../pipeline/ingest/lines.ts";
import { createParser, parseLine, toDeadLetter } from "../../../../pipeline/ingest/parse/index.ts";
import type { DeadLetter, LogEvent } from "../../../../pipeline/model/log-event.ts";

const SAMPLES = new URL("../../../../data/samples/", import.meta.url);
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

async function parseFile(file: string, format: string) {
  const parser = createParser(format);
  const events: Array<{ lineNo: number; event: LogEvent }> = [];
  const dead: DeadLetter[] = [];
  for await (const batch of readLines(createReadStream(new URL(file, SAMPLES)))) {
    for (const line of batch) {
      const out = parseLine(parser, line, "sample");
      if (out.ok) events.push({ lineNo: line.lineNo, event: out.event });
      else dead.push(toDeadLetter(line, out.reason, "sample", file));
    }
  }
  return { events, dead };
}

/** The test's own reading of a CLF / combined line. */
const CLF =
  /^(\S+) (\S+) (\S+) \[(\d\d)\/(\w{3})\/(\d{4}):(\d\d):(\d\d):(\d\d) ([-+])(\d\d)(\d\d)\] "([^"]*)" (\d{3}) (\d+|-)(?: "([^"]*)" "([^"]*)")?$/;

function expected(line: string) {
  const m = CLF.exec(line);
  if (!m) return null;
  const [, host, ident, user, dd, mon, yyyy, hh, mi, ss, sign, zh, zm, request, status, bytes, referrer, agent] = m;
  const offsetMin = (sign === "-" ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  const ts =
    Date.UTC(Number(yyyy), MONTHS.indexOf(mon!), Number(dd), Number(hh), Number(mi), Number(ss)) - offsetMin * 60_000;
  const words = request!.split(" ");
  const target = words.length === 3 ? words[1]! : words.length === 2 ? words[1]! : null;
  const q = target?.indexOf("?") ?? -1;
  const nullDash = (v: string | undefined) => (v === undefined || v === "-" ? null : v);
  return {
    ts,
    host: nullDash(host),
    ident: nullDash(ident),
    user: nullDash(user),
    method: words.length >= 2 ? words[0]! : null,
    path: target === null ? null : q === -1 ? target : target.slice(0, q),
    query: target === null || q === -1 ? null : target.slice(q + 1),
    protocol: words.length === 3 ? words[2]! : null,
    status: Number(status),
    bytes: bytes === "-" ? null : Number(bytes),
    referrer: nullDash(referrer),
    agent: nullDash(agent),
    source: "sample",
  };
}

const textLines = (file: string) => readFileSync(new URL(file, SAMPLES), "utf8").replace(/\n$/, "").split("\n");

describe("nasa-jul95-first1000.log (CLF, -0400)", () => {
  it("parses every one of its 1,000 lines with the fields the line holds", async () => {
    const { events, dead } = await parseFile("nasa-jul95-first1000.log", "clf");
    expect(dead).toEqual([]);
    expect(events).toHaveLength(1000);
    const lines = textLines("nasa-jul95-first1000.log");
    for (const { lineNo, event } of events) expect(event, `line ${lineNo}`).toEqual(expected(lines[lineNo - 1]!));
  });

  it("reads the first and last times as UTC instants (00:00:01 and 00:18:44 at -0400)", async () => {
    const { events } = await parseFile("nasa-jul95-first1000.log", "clf");
    expect(new Date(events[0]!.event.ts).toISOString()).toBe("1995-07-01T04:00:01.000Z");
    expect(new Date(events.at(-1)!.event.ts).toISOString()).toBe("1995-07-01T04:18:44.000Z");
  });
});

describe("nasa-aug95-excerpt-broken.log (newlines inserted every 4,096 bytes, last line cut)", () => {
  it("gives exactly 1,841 events and 89 dead letters, one per line that is not a whole record", async () => {
    const { events, dead } = await parseFile("nasa-aug95-excerpt-broken.log", "clf");
    expect(events).toHaveLength(1841);
    expect(dead).toHaveLength(89);
    const lines = textLines("nasa-aug95-excerpt-broken.log");
    const notRecords = lines.flatMap((l, i) => (expected(l) === null ? [i + 1] : []));
    expect(dead.map((d) => d.line)).toEqual(notRecords);
    for (const { lineNo, event } of events) expect(event, `line ${lineNo}`).toEqual(expected(lines[lineNo - 1]!));
  });

  it("keeps each dead letter's exact bytes, line number and byte offset, with a reason", async () => {
    const { dead } = await parseFile("nasa-aug95-excerpt-broken.log", "clf");
    const file = readFileSync(new URL("nasa-aug95-excerpt-broken.log", SAMPLES));
    for (const d of dead) {
      const bytes = Buffer.from(d.rawBase64, "base64");
      expect(file.subarray(d.offset!, d.offset! + bytes.length).equals(bytes)).toBe(true);
      expect(d.offset === 0 || file[d.offset! - 1] === 10).toBe(true);
      expect(d.raw).toBe(bytes.toString("utf8"));
      expect(d.reason.length).toBeGreaterThan(10);
      expect(d.file).toBe("nasa-aug95-excerpt-broken.log");
    }
    const byLine = new Map(dead.map((d) => [d.line, d.reason]));
    // Line 38 stops inside the request; line 1930 is the cut-off last line "miriwo".
    expect(byLine.get(38)).toBe("missing closing quote in request");
    expect(byLine.get(77)).toBe('bad timestamp "01/Aug/199"');
    expect(byLine.get(1930)).toBe('line ends before ident (last read: host "miriwo")');
  });
});

describe("elastic-apache-combined.log (Apache combined, +0000)", () => {
  it("gives 9,999 events and 1 dead letter: line 8899, whose user agent has no closing quote", async () => {
    const { events, dead } = await parseFile("elastic-apache-combined.log", "combined");
    expect(events).toHaveLength(9999);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ line: 8899, reason: "missing closing quote in user agent" });
    expect(events.filter((e) => e.event.status === 200)).toHaveLength(9125);
  });

  it("reads every event's fields as the line holds them", async () => {
    const { events } = await parseFile("elastic-apache-combined.log", "combined");
    const lines = textLines("elastic-apache-combined.log");
    for (const { lineNo, event } of events) expect(event, `line ${lineNo}`).toEqual(expected(lines[lineNo - 1]!));
    const dashBytes = lines.filter((l) => / \d{3} - "/.test(l)).length;
    expect(dashBytes).toBe(669);
    expect(events.filter((e) => e.event.bytes === null)).toHaveLength(669);
  });

  it("reads the same file as nginx format alike (same layout)", async () => {
    const apache = await parseFile("elastic-apache-combined.log", "combined");
    const nginx = await parseFile("elastic-apache-combined.log", "nginx");
    expect(nginx.events.map((e) => e.event)).toEqual(apache.events.map((e) => e.event));
    expect(nginx.dead.map((d) => d.line)).toEqual([8899]);
  });
});

describe("nasa-jul95-insight-variant.log (synthetic hosts, POSTs)", () => {
  it("parses all 22,674 lines, keeping hosts that are not valid IPv4 as written", async () => {
    const { events, dead } = await parseFile("nasa-jul95-insight-variant.log", "clf");
    expect(dead).toEqual([]);
    expect(events).toHaveLength(22674);
    expect(events.filter((e) => e.event.method === "POST")).toHaveLength(172);
    expect(events.some((e) => e.event.host === "216.292.58.48")).toBe(true);
  });
});
