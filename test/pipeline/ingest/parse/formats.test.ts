/**
 * Formats a user brings: Apache LogFormat strings (as written in httpd.conf), nginx log_format
 * strings, JSON lines with a field mapping, and the errors a wrong format gives.
 */
import { describe, expect, it } from "vitest";
import { isLogbenchError } from "../../../../connectors/errors.ts";
import { createParser, FORMAT_NAMES, type ParseOutcome } from "../../../../pipeline/ingest/parse/index.ts";

function event(outcome: ParseOutcome) {
  if (!outcome.ok) throw new Error(`expected an event, got dead letter: ${outcome.reason}`);
  return outcome.event;
}
const iso = (ms: number) => new Date(ms).toISOString();

describe("Apache LogFormat strings", () => {
  it("reads %D, %v and a request header into extra, beside the combined fields", () => {
    const p = createParser('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i" %D %v "%{X-Forwarded-For}i"');
    const e = event(
      p.parseText(
        '10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /a?x=1 HTTP/1.1" 200 512 "http://r/" "curl/8" 1234 www.example.com "203.0.113.9"',
        "s",
      ),
    );
    expect(e).toMatchObject({
      host: "10.0.0.1",
      path: "/a",
      query: "x=1",
      status: 200,
      bytes: 512,
      referrer: "http://r/",
    });
    expect(e.agent).toBe("curl/8");
    expect(e.extra).toEqual({ duration_us: 1234, vhost: "www.example.com", "x-forwarded-for": "203.0.113.9" });
    expect(iso(e.ts)).toBe("2000-10-10T20:55:36.000Z");
  });

  it('accepts a LogFormat directive pasted from httpd.conf, with its \\" escapes', () => {
    const p = createParser('LogFormat "%h %l %u %t \\"%r\\" %>s %b" common');
    const e = event(p.parseText('h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 5', "s"));
    expect(e).toMatchObject({ host: "h", method: "GET", status: 200, bytes: 5 });
  });

  it("reads %{strftime}t times, without a zone as UTC, and Apache 2.4's msec_frac composition", () => {
    const plain = createParser('%{%Y-%m-%d %H:%M:%S}t %a "%m %U%q %H" %>s %B');
    const e = event(plain.parseText('2024-03-01 12:34:56 192.0.2.1 "POST /api/items?id=7 HTTP/2.0" 201 0', "s"));
    expect(iso(e.ts)).toBe("2024-03-01T12:34:56.000Z");
    expect(e).toMatchObject({
      host: "192.0.2.1",
      method: "POST",
      path: "/api/items",
      query: "id=7",
      protocol: "HTTP/2.0",
      bytes: 0,
    });

    const composed = createParser('%h [%{%d/%b/%Y %T}t.%{msec_frac}t %{%z}t] "%r" %>s %b');
    const c = event(composed.parseText('h [10/Oct/2000 13:55:36.042 -0700] "GET / HTTP/1.1" 200 1', "s"));
    expect(iso(c.ts)).toBe("2000-10-10T20:55:36.042Z");
  });

  it("reads %{sec}t and %{msec}t epoch times", () => {
    const sec = event(createParser("%{sec}t %h %>s").parseText("971211336 h 200", "s"));
    expect(iso(sec.ts)).toBe("2000-10-10T20:55:36.000Z");
    const msec = event(createParser("%h %>s %{msec}t").parseText("h 200 971211336789", "s"));
    expect(iso(msec.ts)).toBe("2000-10-10T20:55:36.789Z");
  });

  it("reads Debian's vhost_combined: virtual host and port in extra, %O as the byte count", () => {
    const e = event(
      createParser("vhost_combined").parseText(
        'www.example.com:443 192.0.2.7 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326 "-" "curl/8"',
        "s",
      ),
    );
    expect(e).toMatchObject({ host: "192.0.2.7", status: 200, bytes: 2326, agent: "curl/8" });
    expect(e.extra).toEqual({ vhost: "www.example.com", port: 443 });
  });

  it("names the field and the value when a line does not fit", () => {
    const p = createParser('%h %t "%r" %>s %b %D');
    expect(p.parseText('h [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 fast', "s")).toEqual({
      ok: false,
      reason: 'bad duration "fast"',
    });
  });

  it("refuses formats it cannot read, saying why", () => {
    const cases: Array<[string, RegExp]> = [
      ["%h %J %t", /unknown directive "%J"/],
      ["%h %l %u", /no time field/],
      ["%h%l %t", /host is followed directly by another field/],
      ["%{%Q}t %h", /%Q is not supported/],
      ["apache", /unknown format "apache": use one of clf, common, combined/],
    ];
    for (const [format, message] of cases) {
      let error: unknown;
      try {
        createParser(format);
      } catch (err) {
        error = err;
      }
      expect(isLogbenchError(error, "CONFIG"), format).toBe(true);
      expect((error as Error).message).toMatch(message);
    }
  });

  it("lists the names --format accepts", () => {
    expect(FORMAT_NAMES).toEqual(expect.arrayContaining(["clf", "common", "combined", "nginx", "json"]));
    for (const name of FORMAT_NAMES) expect(createParser(name.toUpperCase()).format).toBe(name);
  });
});

describe("nginx log_format strings", () => {
  it("reads $time_iso8601, $request_time and $http_* variables", () => {
    const p = createParser(
      '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent $request_time "$http_x_forwarded_for"',
    );
    const e = event(p.parseText('::1 [2024-05-01T12:00:00+02:00] "GET /x HTTP/1.1" 404 0 0.012 "-"', "s"));
    expect(iso(e.ts)).toBe("2024-05-01T10:00:00.000Z");
    expect(e).toMatchObject({ host: "::1", path: "/x", status: 404, bytes: 0 });
    expect(e.extra).toEqual({ duration_s: 0.012, "x-forwarded-for": null });
  });

  it("reads $msec and $request_uri", () => {
    const p = createParser("$msec $remote_addr $request_method $request_uri $status");
    const e = event(p.parseText("1714557600.123 1.2.3.4 GET /a/b?c=d 200", "s"));
    expect(iso(e.ts)).toBe("2024-05-01T10:00:00.123Z");
    expect(e).toMatchObject({ method: "GET", path: "/a/b", query: "c=d", status: 200 });
  });
});

describe("JSON lines", () => {
  it("finds the usual nginx/Apache JSON field names without a mapping", () => {
    const p = createParser("json");
    const line = JSON.stringify({
      time: "2024-05-01T12:00:00+02:00",
      remote_addr: "203.0.113.5",
      request: "GET /a?b=1 HTTP/1.1",
      status: 200,
      body_bytes_sent: "512",
      http_referer: "-",
      http_user_agent: "curl/8",
      upstream: "app-1",
    });
    const e = event(p.parseText(line, "api"));
    expect(e).toEqual({
      ts: Date.UTC(2024, 4, 1, 10, 0, 0),
      host: "203.0.113.5",
      ident: null,
      user: null,
      method: "GET",
      path: "/a",
      query: "b=1",
      protocol: "HTTP/1.1",
      status: 200,
      bytes: 512,
      referrer: null,
      agent: "curl/8",
      source: "api",
      extra: { upstream: "app-1" },
    });
  });

  it("follows a mapping into nested objects, with epoch times", () => {
    const p = createParser("json", {
      json: { time: "ts", timeFormat: "epoch_s", fields: { host: "client.ip", status: "res.code", path: "req.url" } },
    });
    const e = event(
      p.parseText('{"ts":1714557600.5,"client":{"ip":"::1"},"req":{"url":"/v1?x=2"},"res":{"code":503}}', "s"),
    );
    expect(iso(e.ts)).toBe("2024-05-01T10:00:00.500Z");
    expect(e).toMatchObject({ host: "::1", path: "/v1?x=2", status: 503 });
  });

  it("reads a strftime time format and, for API records without a time, the parse time", () => {
    const p = createParser("json", { json: { time: "when", timeFormat: "%d/%m/%Y %H:%M" } });
    expect(iso(event(p.parseText('{"when":"02/01/2024 03:04"}', "s")).ts)).toBe("2024-01-02T03:04:00.000Z");
    const before = Date.now();
    const api = event(
      createParser("json", { json: { time: null } }).parseText('{"country":"FR","population":68}', "poll"),
    );
    expect(api.ts).toBeGreaterThanOrEqual(before);
    expect(api.extra).toEqual({ country: "FR", population: 68 });
  });

  it("leaves the record's other fields out when keepExtra is false", () => {
    const p = createParser("json", { json: { keepExtra: false } });
    const e = event(p.parseText('{"time":"2024-01-01T00:00:00Z","status":200,"trace_id":"abc"}', "s"));
    expect(e.status).toBe(200);
    expect("extra" in e).toBe(false);
  });

  it("gives reasons for lines that are not events", () => {
    const p = createParser("json");
    const reason = (line: string) => {
      const out = p.parseText(line, "s");
      return out.ok ? "event" : out.reason;
    };
    expect(reason("[1,2]")).toBe("not a JSON object");
    expect(reason(" [[[")).toBe("not a JSON object");
    expect(reason('\t{"time":"2024-02-01T00:00:00Z"}')).toBe("event");
    expect(reason("{not json")).toMatch(/^invalid JSON: /);
    expect(reason('{"status":200}')).toBe(
      'missing time field "time" or "timestamp" or "@timestamp" or "ts" or "time_local" or "date" or "datetime"',
    );
    expect(reason('{"time":"2024-02-30T00:00:00Z"}')).toBe('bad timestamp "2024-02-30T00:00:00Z"');
    expect(reason('{"time":"2024-02-01T00:00:00Z","status":"OK"}')).toBe('bad status "OK"');
  });
});

describe("format text is data, never code", () => {
  it("reads literals holding quotes, backslashes and line separators as text", () => {
    for (const sep of ['"', "\\", "\u2028", "\u2029", "*/", "\u0024{x}"]) {
      const p = createParser(`%h ${sep}x${sep} %t %>s`);
      const e = event(p.parseText(`h ${sep}x${sep} [10/Oct/2000:13:55:36 -0700] 200`, "s"));
      expect(e).toMatchObject({ host: "h", status: 200 });
    }
  });
});
