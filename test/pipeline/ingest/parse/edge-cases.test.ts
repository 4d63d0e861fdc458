/**
 * Hand-checked edge cases: each row is a line, the format, and what a person reading the line by hand
 * expects: the fields that matter (times as ISO strings worked out by hand) or the dead-letter reason.
 */
import { describe, expect, it } from "vitest";
import { createParser, type ParseOutcome } from "../../../../pipeline/ingest/parse/index.ts";
import type { LogEvent } from "../../../../pipeline/model/log-event.ts";

const enc = new TextEncoder();
const T = "[10/Oct/2000:13:55:36 -0700] "; // 2000-10-10T20:55:36Z
const UTC = "2000-10-10T20:55:36.000Z";

type Expect = Partial<Omit<LogEvent, "ts">> & { time?: string };
const ROWS: Array<[string, string, string, Expect | string]> = [
  // [what, format, line, expected fields | dead-letter reason]
  [
    "Apache docs example",
    "clf",
    `127.0.0.1 - frank ${T}"GET /apache_pb.gif HTTP/1.0" 200 2326`,
    {
      host: "127.0.0.1",
      ident: null,
      user: "frank",
      method: "GET",
      path: "/apache_pb.gif",
      protocol: "HTTP/1.0",
      status: 200,
      bytes: 2326,
      time: UTC,
    },
  ],
  [
    "IPv6 client",
    "clf",
    `2001:db8::ff00:42:8329 - - ${T}"GET / HTTP/1.1" 304 0`,
    { host: "2001:db8::ff00:42:8329", bytes: 0, status: 304 },
  ],
  ["host name", "clf", `unicomp6.unicomp.net - - ${T}"GET /x HTTP/1.0" 200 3985`, { host: "unicomp6.unicomp.net" }],
  ["- bytes is null", "clf", `h - - ${T}"GET /x HTTP/1.0" 304 -`, { bytes: null }],
  ["- status is null", "clf", `h - - ${T}"GET /x HTTP/1.0" - -`, { status: null }],
  [
    "query split from path",
    "clf",
    `h - - ${T}"GET /search?q=a&b=2 HTTP/1.1" 200 5`,
    { path: "/search", query: "q=a&b=2" },
  ],
  ["bare ? is an empty query", "clf", `h - - ${T}"GET /p? HTTP/1.1" 200 5`, { path: "/p", query: "" }],
  [
    "escaped quotes in request",
    "clf",
    `h - - ${T}"GET /s?q=\\"x\\" HTTP/1.1" 200 5`,
    { path: "/s", query: 'q="x"', protocol: "HTTP/1.1" },
  ],
  ["request -", "clf", `h - - ${T}"-" 408 -`, { method: null, path: null, protocol: null, status: 408 }],
  ["empty request", "clf", `h - - ${T}"" 400 0`, { method: null, path: null, protocol: null, status: 400 }],
  [
    "no protocol (HTTP/0.9)",
    "clf",
    `h - - ${T}"GET /index.html" 200 5`,
    { method: "GET", path: "/index.html", protocol: null },
  ],
  ["bare path", "clf", `h - - ${T}"/index.html" 200 5`, { method: null, path: "/index.html", protocol: null }],
  [
    "space inside the path",
    "clf",
    `h - - ${T}"GET /a b.html HTTP/1.0" 404 5`,
    { method: "GET", path: "/a b.html", protocol: "HTTP/1.0" },
  ],
  [
    "TLS handshake as Apache escapes it",
    "clf",
    `h - - ${T}"\\x16\\x03\\x01\\x00\\xa5\\x01" 400 226`,
    {
      method: null,
      path: null,
      protocol: null,
      status: 400,
      extra: { request: "\u0016\u0003\u0001\u0000\\xa5\u0001" },
    },
  ],
  [
    "absolute URI (proxy request)",
    "clf",
    `h - - ${T}"CONNECT example.com:443 HTTP/1.1" 405 0`,
    { method: "CONNECT", path: "example.com:443" },
  ],
  ["UTF-8 written raw", "clf", `h - - ${T}"GET /café HTTP/1.1" 200 5`, { path: "/café" }],
  [
    "fractional seconds",
    "clf",
    `h - - [10/Oct/2000:13:55:36.250 -0700] "GET / HTTP/1.1" 200 5`,
    { time: "2000-10-10T20:55:36.250Z" },
  ],
  [
    "+0530 zone",
    "clf",
    `h - - [01/Jan/2020:05:30:00 +0530] "GET / HTTP/1.1" 200 5`,
    { time: "2020-01-01T00:00:00.000Z" },
  ],
  [
    "29 Feb of a leap year",
    "clf",
    `h - - [29/Feb/2024:23:59:59 +0000] "GET / HTTP/1.1" 200 5`,
    { time: "2024-02-29T23:59:59.000Z" },
  ],
  [
    "zone crosses the year",
    "clf",
    `h - - [31/Dec/1999:23:00:00 -0500] "GET / HTTP/1.1" 200 5`,
    { time: "2000-01-01T04:00:00.000Z" },
  ],
  ["CRLF ending", "clf", `h - - ${T}"GET / HTTP/1.1" 200 5\r`, { bytes: 5, time: UTC }],
  [
    "combined line read as CLF: the rest is ignored",
    "clf",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "curl/8"`,
    { bytes: 5, agent: null },
  ],
  [
    "combined, - referrer",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "curl/8.0"`,
    { referrer: null, agent: "curl/8.0" },
  ],
  [
    "escaped quotes in user agent",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "say \\"hi\\" bot"`,
    { agent: 'say "hi" bot' },
  ],
  [
    "backslash at the end of the agent",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "ends\\\\"`,
    { agent: "ends\\" },
  ],
  [
    "unescaped quote inside the request",
    "combined",
    `h - - ${T}"GET /a"b HTTP/1.1" 200 5 "-" "a"`,
    { path: '/a"b', status: 200 },
  ],
  [
    "unescaped quote inside the agent",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "say"hi"`,
    { agent: 'say"hi' },
  ],
  // A quote then a space ends the last field: trailing fields (nginx "main" adds X-Forwarded-For) are ignored.
  [
    "nginx main format read as combined",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "curl/8" "10.1.1.1"`,
    { agent: "curl/8" },
  ],
  [
    "\\x escapes of UTF-8 bytes",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "it\\xe2\\x80\\x99s"`,
    { agent: "it’s" },
  ],
  [
    "\\x escapes that are not UTF-8 stay as written",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "http://\\xe4\\xe5/" "a"`,
    { referrer: "http://\\xe4\\xe5/" },
  ],
  [
    "nginx \\x22 quote",
    "nginx",
    `10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 "-" "a\\x22b"`,
    { agent: 'a"b', time: UTC },
  ],
  [
    "nginx user with a space",
    "nginx",
    `10.0.0.1 - jo ann [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 "-" "a"`,
    { user: "jo ann" },
  ],
  [
    "extra fields after combined are ignored",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "a" 1234 vhost`,
    { agent: "a" },
  ],

  [
    "31 February",
    "clf",
    `h - - [31/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5`,
    'bad timestamp "31/Feb/2024:00:00:00 +0000"',
  ],
  [
    "29 Feb of a common year",
    "clf",
    `h - - [29/Feb/2023:00:00:00 +0000] "GET / HTTP/1.1" 200 5`,
    'bad timestamp "29/Feb/2023:00:00:00 +0000"',
  ],
  [
    "hour 24",
    "clf",
    `h - - [01/Jan/2020:24:00:00 +0000] "GET / HTTP/1.1" 200 5`,
    'bad timestamp "01/Jan/2020:24:00:00 +0000"',
  ],
  [
    "unknown month",
    "clf",
    `h - - [01/Foo/2020:00:00:00 +0000] "GET / HTTP/1.1" 200 5`,
    'bad timestamp "01/Foo/2020:00:00:00 +0000"',
  ],
  ["no zone", "clf", `h - - [01/Jan/2020:00:00:00] "GET / HTTP/1.1" 200 5`, 'bad timestamp "01/Jan/2020:00:00:00"'],
  ["two-digit status", "clf", `h - - ${T}"GET / HTTP/1.1" 30 5`, 'bad status "30"'],
  [
    "line cut after the status",
    "clf",
    `h - - ${T}"GET / HTTP/1.1" 30`,
    'line ends before byte count (last read: status "30")',
  ],
  ["four-digit status", "clf", `h - - ${T}"GET / HTTP/1.1" 2000 5`, 'bad status "2000"'],
  ["byte count with letters", "clf", `h - - ${T}"GET / HTTP/1.1" 200 12a`, 'bad byte count "12a"'],
  ["request cut off", "clf", `h - - ${T}"GET /shuttle/missions`, "missing closing quote in request"],
  [
    "user agent cut off",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5 "-" "Mozilla/5.0 (compatible`,
    "missing closing quote in user agent",
  ],
  [
    "combined format, CLF line",
    "combined",
    `h - - ${T}"GET / HTTP/1.1" 200 5`,
    'line ends before referrer (last read: byte count "5")',
  ],
  ["empty line", "clf", "", "line ends before host"],
  ["leading space", "clf", ` - [01/Aug/1995:00:06:47 -0400] "GET / HTTP/1.0" 200 5`, "missing host"],
  ["host only", "clf", "in24.inetnebr.", 'line ends before ident (last read: host "in24.inetnebr.")'],
  ["request missing", "clf", "h - - [01/Aug/1995:00:22:41 -0400] ", "line ends before request"],
  [
    "fragment of a split line",
    "clf",
    `/sts-71/sts-71-patch-small.gif HTTP/1.0" 200 12054`,
    'expected "[" before time at column 46, found "12054"',
  ],
];

function check(outcome: ParseOutcome, want: Expect | string) {
  if (typeof want === "string") {
    expect(outcome).toEqual({ ok: false, reason: want });
    return;
  }
  expect(outcome.ok, outcome.ok ? "" : outcome.reason).toBe(true);
  if (!outcome.ok) return;
  const { time, ...fields } = want;
  expect(outcome.event).toMatchObject({ ...fields, source: "edge" });
  if (time) expect(new Date(outcome.event.ts).toISOString()).toBe(time);
}

describe("hand-checked edge cases", () => {
  for (const [what, format, line, want] of ROWS) {
    it(`${format}: ${what}`, () => {
      const parser = createParser(format);
      check(parser.parse(enc.encode(line), "edge"), want);
      check(parser.parseText(line, "edge"), want);
    });
  }

  it("turns invalid UTF-8 into a dead letter naming the byte, whatever the format", () => {
    const line = Uint8Array.from([...enc.encode(`h - - ${T}"GET /`), 0xff, ...enc.encode(' HTTP/1.1" 200 5')]);
    for (const format of ["clf", "combined", "json"]) {
      expect(createParser(format).parse(line, "edge")).toEqual({ ok: false, reason: "invalid UTF-8 at byte 41" });
    }
  });

  it("keeps the line as raw only when asked", () => {
    const line = `h - - ${T}"GET / HTTP/1.1" 200 5`;
    const withRaw = createParser("clf", { keepRaw: true }).parseText(line, "edge");
    const without = createParser("clf").parseText(line, "edge");
    expect(withRaw.ok && withRaw.event.raw).toBe(line);
    expect(without.ok && "raw" in without.event).toBe(false);
  });
});
