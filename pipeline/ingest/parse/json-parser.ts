/**
 * JSON lines (one object per line: nginx `escape=json` logs, Caddy, API records) mapped onto
 * LogEvent fields by a JsonMapping. Fields the mapping does not use stay in `extra`.
 */
import { LogbenchError } from "../../../connectors/errors.ts";
import type { LogEvent } from "../../model/log-event.ts";
import { newRequestParts, setTarget, splitRequest } from "./request.ts";
import { decodeAsciiLine, decodeLine, firstInvalidUtf8, show } from "./text.ts";
import { EPOCH_UNITS, type EpochUnit, newTimeScratch, scanClfTime, scanIsoTime, TimeParts } from "./time.ts";
import { compileTimePattern, type TimePattern } from "./time-pattern.ts";
import { JSON_FIELDS, type JsonField, type JsonMapping, type LineParser, type ParseOutcome } from "./types.ts";

const DEFAULT_TIME = ["time", "timestamp", "@timestamp", "ts", "time_local", "date", "datetime"];

/** Usual names of each field in JSON access logs (nginx, Apache, Caddy, ECS-flattened, Logstash). */
const DEFAULT_FIELDS: Record<JsonField, string[]> = {
  host: ["remote_addr", "client_ip", "clientip", "client", "ip", "remote_ip", "remote_host", "source.ip"],
  ident: ["ident"],
  user: ["remote_user", "user", "auth", "user.name"],
  method: ["method", "request_method", "verb", "http.request.method"],
  path: ["path", "uri", "url.path"],
  query: ["query", "query_string", "args", "url.query"],
  protocol: ["protocol", "server_protocol", "http_version", "httpversion"],
  status: ["status", "status_code", "response", "http.response.status_code"],
  bytes: ["bytes", "body_bytes_sent", "bytes_sent", "size", "http.response.body.bytes"],
  referrer: ["referrer", "referer", "http_referer", "http.request.referrer"],
  agent: ["agent", "user_agent", "http_user_agent", "useragent", "user_agent.original"],
  request: ["request"],
  uri: ["request_uri", "url", "url.original"],
};

const TIME_FORMATS = new Set(["auto", "iso8601", "clf", ...Object.keys(EPOCH_UNITS)]);

function fail(reason: string): ParseOutcome {
  return { ok: false, reason };
}

/** A path compiled once: the literal key (`"http.method"` may be a key) and, when dotted, its parts. */
interface Candidate {
  key: string;
  /** The top-level key this path consumes (kept out of `extra`). */
  top: string;
  parts: string[] | null;
}

function compilePaths(paths: string[]): Candidate[] {
  return paths.map((key) => ({ key, top: key.split(".")[0]!, parts: key.includes(".") ? key.split(".") : null }));
}

/** The first candidate present in the record (in priority order); records its top-level key in `used`. */
function lookup(obj: Record<string, unknown>, candidates: Candidate[], used: string[]): unknown {
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!;
    let v = obj[c.key];
    // JSON values are never functions: a function is Object.prototype's, not the record's.
    if (v !== undefined && typeof v !== "function") {
      used.push(c.key);
      return v;
    }
    if (c.parts === null) continue;
    v = obj;
    for (const part of c.parts) {
      if (v === null || typeof v !== "object" || !Object.hasOwn(v, part)) {
        v = undefined;
        break;
      }
      v = (v as Record<string, unknown>)[part];
    }
    if (v !== undefined) {
      used.push(c.top);
      return v;
    }
  }
  return undefined;
}

const showValue = (v: unknown) => show(typeof v === "string" ? v : JSON.stringify(v));

function text(v: unknown): string | null {
  if (v === undefined || v === null || v === "-") return null;
  if (typeof v === "string") return v;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export class JsonLineParser implements LineParser {
  readonly format = "json";
  private readonly timePaths: Candidate[] | null;
  private readonly timeNames: string;
  private readonly timeFormat: string;
  private readonly pattern: TimePattern | null;
  private readonly paths: Record<JsonField, Candidate[]>;
  private readonly keepExtra: boolean;
  private readonly parts = new TimeParts();
  private readonly tmp = newTimeScratch();
  private readonly req = newRequestParts();

  constructor(
    mapping: JsonMapping,
    private readonly keepRaw: boolean,
  ) {
    const timePaths = mapping.time === null ? null : mapping.time === undefined ? DEFAULT_TIME : [mapping.time];
    this.timePaths = timePaths && compilePaths(timePaths);
    this.timeNames = (timePaths ?? []).map((p) => `"${p}"`).join(" or ");
    this.timeFormat = mapping.timeFormat ?? "auto";
    this.pattern = TIME_FORMATS.has(this.timeFormat) ? null : compileTimePattern(this.timeFormat);
    if (this.pattern === null && !TIME_FORMATS.has(this.timeFormat))
      throw new LogbenchError("CONFIG", `json timeFormat ${JSON.stringify(this.timeFormat)} is not known`);
    const paths = {} as Record<JsonField, Candidate[]>;
    for (const name of JSON_FIELDS) {
      const given = mapping.fields?.[name];
      paths[name] = compilePaths(given === undefined ? DEFAULT_FIELDS[name] : [given]);
    }
    for (const key of Object.keys(mapping.fields ?? {}))
      if (!(JSON_FIELDS as readonly string[]).includes(key))
        throw new LogbenchError(
          "CONFIG",
          `json field mapping: unknown field "${key}" (known: ${JSON_FIELDS.join(", ")})`,
        );
    this.paths = paths;
    this.keepExtra = mapping.keepExtra ?? true;
  }

  parse(line: Uint8Array, source: string, ascii = false): ParseOutcome {
    if (ascii) return this.parseText(decodeAsciiLine(line), source);
    const s = decodeLine(line);
    if (s === null) return fail(`invalid UTF-8 at byte ${firstInvalidUtf8(line)}`);
    return this.parseText(s, source);
  }

  parseText(line: string, source: string): ParseOutcome {
    try {
      return this.run(line, source);
    } catch (err) {
      return fail(`parser error: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private run(s: string, source: string): ParseOutcome {
    // Only objects are records. Checking the first character first also keeps a line of thousands of
    // `[` away from JSON.parse, which takes superlinear time on such nesting (100× for 8× the depth).
    let first = 0;
    for (let c = s.charCodeAt(0); c === 32 || c === 9 || c === 10 || c === 13; c = s.charCodeAt(++first));
    if (first < s.length && s.charCodeAt(first) !== 123) return fail("not a JSON object");
    let rec: unknown;
    try {
      rec = JSON.parse(s);
    } catch (err) {
      return fail(`invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (rec === null || typeof rec !== "object" || Array.isArray(rec)) return fail("not a JSON object");
    const obj = rec as Record<string, unknown>;
    const used: string[] = [];
    let ts: number;
    if (this.timePaths === null) ts = Date.now();
    else {
      const t = lookup(obj, this.timePaths, used);
      if (t === undefined || t === null) return fail(`missing time field ${this.timeNames}`);
      ts = this.readTime(t);
      if (Number.isNaN(ts)) return fail(`bad timestamp ${showValue(t)}`);
    }
    const p = this.paths;
    let method = text(lookup(obj, p.method, used));
    let path = text(lookup(obj, p.path, used));
    let query = text(lookup(obj, p.query, used));
    let protocol = text(lookup(obj, p.protocol, used));
    const request = lookup(obj, p.request, used);
    if (typeof request === "string" && method === null && path === null) {
      splitRequest(request, 0, request.length, this.req);
      ({ method, path, query, protocol } = this.req);
    }
    const uri = lookup(obj, p.uri, used);
    if (typeof uri === "string" && path === null) {
      this.req.path = null;
      this.req.query = null;
      setTarget(uri, 0, uri.length, this.req);
      path = this.req.path;
      query ??= this.req.query;
    }
    const statusValue = lookup(obj, p.status, used);
    const status = this.number(statusValue, true);
    if (status === undefined) return fail(`bad status ${showValue(statusValue)}`);
    const bytesValue = lookup(obj, p.bytes, used);
    const bytes = this.number(bytesValue, false);
    if (bytes === undefined) return fail(`bad byte count ${showValue(bytesValue)}`);
    const event: LogEvent = {
      ts,
      host: text(lookup(obj, p.host, used)),
      ident: text(lookup(obj, p.ident, used)),
      user: text(lookup(obj, p.user, used)),
      method,
      path,
      query,
      protocol,
      status,
      bytes,
      referrer: text(lookup(obj, p.referrer, used)),
      agent: text(lookup(obj, p.agent, used)),
      source,
    };
    if (this.keepRaw) event.raw = s;
    if (this.keepExtra) {
      let extra: Record<string, unknown> | undefined;
      for (const key in obj) {
        if (used.includes(key)) continue;
        extra ??= {};
        extra[key] = obj[key];
      }
      if (extra) event.extra = extra;
    }
    return { ok: true, event };
  }

  /** null for absent or "-", undefined when present but not a usable number. */
  private number(v: unknown, isStatus: boolean): number | null | undefined {
    if (v === undefined || v === null || v === "-") return null;
    const n = typeof v === "number" ? v : typeof v === "string" && /^\d{1,15}$/.test(v) ? Number(v) : Number.NaN;
    if (!Number.isInteger(n) || n < 0) return undefined;
    if (isStatus && (n < 100 || n > 999)) return undefined;
    return n;
  }

  private readTime(v: unknown): number {
    const fmt = this.timeFormat;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) return Number.NaN;
      if (fmt in EPOCH_UNITS) return Math.floor(v * EPOCH_UNITS[fmt as EpochUnit]);
      if (fmt !== "auto") return Number.NaN;
      // By magnitude: seconds until year 5138, then ms, µs, ns.
      const a = Math.abs(v);
      return Math.floor(a < 1e11 ? v * 1000 : a < 1e14 ? v : a < 1e17 ? v / 1000 : v / 1e6);
    }
    if (typeof v !== "string") return Number.NaN;
    if (fmt in EPOCH_UNITS || (fmt === "auto" && /^-?\d+(\.\d+)?$/.test(v))) {
      return this.readTime(Number(v));
    }
    const parts = this.parts;
    parts.reset();
    let end: number;
    if (this.pattern) end = this.pattern.scan(v, 0, v.length, parts, this.tmp);
    else if (fmt === "iso8601") end = scanIsoTime(v, 0, v.length, parts, this.tmp);
    else {
      const start = v.charCodeAt(0) === 91 ? 1 : 0;
      const isClf = fmt === "clf" || v.charCodeAt(start + 2) === 47;
      end = isClf ? scanClfTime(v, start, v.length, parts, this.tmp) : scanIsoTime(v, 0, v.length, parts, this.tmp);
      if (isClf && start === 1 && v.charCodeAt(end) === 93) end++;
    }
    return end === v.length ? parts.result() : Number.NaN;
  }
}
