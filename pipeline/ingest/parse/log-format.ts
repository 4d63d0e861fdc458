/**
 * Compiles an Apache `LogFormat` string (https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats)
 * or an nginx `log_format` string (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format)
 * into a program: the literal text before each field, how the field ends, and which LogEvent field it fills.
 *
 * How a field ends is decided here, once, so the reader never backtracks:
 * - quoted (literal before ends with `"`, literal after starts with `"`): at the first unescaped `"`
 *   followed by the literal after (at the end of the format: by end of line or whitespace);
 * - self: the time readers know their own length (a CLF time holds a space);
 * - token: at the first occurrence of the literal after it (`" ["` after `%u`, so a user name may hold
 *   a space), or for the last field, at end of line (numbers: at whitespace, so extra trailing fields
 *   such as a combined line read as CLF are ignored).
 */
import { LogbenchError } from "../../../connectors/errors.ts";
import { compileTimePattern, type TimePattern } from "./time-pattern.ts";

/** What a field fills. */
export const TARGET = {
  host: 0,
  ident: 1,
  user: 2,
  time: 3,
  request: 4,
  status: 5,
  bytes: 6,
  referrer: 7,
  agent: 8,
  method: 9,
  path: 10,
  query: 11,
  protocol: 12,
  /** Path and query together (`%U%q` written as one, nginx `$request_uri`). */
  uri: 13,
  extraString: 14,
  extraNumber: 15,
} as const;

/**
 * How a field ends: token fields at the next literal (`token`), at end of line (`eol`) or at
 * whitespace (`word`); `quoted` at the closing quote; `self` where the time reader stops.
 */
export const DELIM = { token: 0, quoted: 1, self: 2, eol: 3, word: 4 } as const;

/** How a time field reads. */
export type TimeSpec =
  | { kind: "clf-bracketed" }
  | { kind: "clf" }
  | { kind: "iso" }
  | { kind: "epoch"; unitMs: number }
  | { kind: "frac"; unitMs: number }
  | { kind: "pattern"; pattern: TimePattern };

export interface Field {
  target: number;
  /** Words for reasons: "user agent", "status". */
  label: string;
  /** Key in `extra` for extraString / extraNumber. */
  key: string;
  time: TimeSpec | null;
}

export interface Step {
  /** Literal text that must come before the field (may be empty). */
  pre: string;
  preCode: number;
  field: Field | null;
  delim: number;
  /** Literal text after the field ("" when the format ends with it). */
  next: string;
  /** Nothing but an optional closing quote follows the field: what comes after must be end of line or whitespace. */
  last: boolean;
}

export interface Program {
  /** The format as the user wrote it, for messages. */
  source: string;
  steps: Step[];
  /** Only a plain `%t` / `$time_local` reads time: the event time comes straight from it. */
  simpleTime: boolean;
}

type FieldFactory = (arg: string | null) => Field;
const f = (target: number, label: string, key = "", time: TimeSpec | null = null): Field => ({
  target,
  label,
  key,
  time,
});
const extraS = (key: string, label = key) => f(TARGET.extraString, label, key);
const extraN = (key: string, label = key) => f(TARGET.extraNumber, label, key);

function headerField(name: string): Field {
  const lower = name.toLowerCase();
  if (lower === "referer" || lower === "referrer") return f(TARGET.referrer, "referrer");
  if (lower === "user-agent") return f(TARGET.agent, "user agent");
  return extraS(lower, `header ${name}`);
}

function apacheTime(arg: string | null): Field {
  if (arg === null) return f(TARGET.time, "time", "", { kind: "clf-bracketed" });
  const spec = arg.replace(/^(begin|end):/, "");
  const units: Record<string, TimeSpec> = {
    sec: { kind: "epoch", unitMs: 1000 },
    msec: { kind: "epoch", unitMs: 1 },
    usec: { kind: "epoch", unitMs: 0.001 },
    msec_frac: { kind: "frac", unitMs: 1 },
    usec_frac: { kind: "frac", unitMs: 0.001 },
  };
  return f(TARGET.time, "time", "", units[spec] ?? { kind: "pattern", pattern: compileTimePattern(spec) });
}

/** Apache directives by letter; `arg` is the `{…}` argument. */
const APACHE: Record<string, FieldFactory> = {
  a: () => f(TARGET.host, "client address"),
  A: () => extraS("local_ip"),
  B: () => f(TARGET.bytes, "byte count"),
  b: () => f(TARGET.bytes, "byte count"),
  C: (a) => extraS(`cookie:${a ?? ""}`),
  D: () => extraN("duration_us", "duration"),
  e: (a) => extraS(`env:${a ?? ""}`),
  f: () => extraS("filename"),
  h: () => f(TARGET.host, "host"),
  H: () => f(TARGET.protocol, "protocol"),
  i: (a) => headerField(a ?? ""),
  I: () => extraN("bytes_in"),
  k: () => extraN("keepalive"),
  l: () => f(TARGET.ident, "ident"),
  L: () => extraS("log_id"),
  m: () => f(TARGET.method, "method"),
  n: (a) => extraS(`note:${a ?? ""}`),
  o: (a) => extraS(`resp:${(a ?? "").toLowerCase()}`),
  O: () => extraN("bytes_out"),
  p: () => extraN("port"),
  P: () => extraN("pid"),
  q: () => f(TARGET.query, "query"),
  r: () => f(TARGET.request, "request"),
  R: () => extraS("handler"),
  s: () => f(TARGET.status, "status"),
  S: () => extraN("bytes_total"),
  t: apacheTime,
  T: (a) =>
    a === "ms"
      ? extraN("duration_ms", "duration")
      : a === "us"
        ? extraN("duration_us", "duration")
        : extraN("duration_s", "duration"),
  u: () => f(TARGET.user, "user"),
  U: () => f(TARGET.path, "path"),
  v: () => extraS("vhost"),
  V: () => extraS("server_name"),
  X: () => extraS("conn_status"),
};

/** nginx variables; any other `$name` (and `$http_*`, `$upstream_*`) becomes an extra string. */
const NGINX: Record<string, () => Field> = {
  remote_addr: () => f(TARGET.host, "host"),
  realip_remote_addr: () => f(TARGET.host, "host"),
  remote_user: () => f(TARGET.user, "user"),
  time_local: () => f(TARGET.time, "time", "", { kind: "clf" }),
  time_iso8601: () => f(TARGET.time, "time", "", { kind: "iso" }),
  msec: () => f(TARGET.time, "time", "", { kind: "epoch", unitMs: 1000 }),
  request: () => f(TARGET.request, "request"),
  status: () => f(TARGET.status, "status"),
  body_bytes_sent: () => f(TARGET.bytes, "byte count"),
  bytes_sent: () => extraN("bytes_out"),
  request_length: () => extraN("bytes_in"),
  http_referer: () => f(TARGET.referrer, "referrer"),
  http_user_agent: () => f(TARGET.agent, "user agent"),
  request_method: () => f(TARGET.method, "method"),
  uri: () => f(TARGET.path, "path"),
  document_uri: () => f(TARGET.path, "path"),
  request_uri: () => f(TARGET.uri, "request URI"),
  args: () => f(TARGET.query, "query"),
  query_string: () => f(TARGET.query, "query"),
  server_protocol: () => f(TARGET.protocol, "protocol"),
  request_time: () => extraN("duration_s", "request time"),
  host: () => extraS("vhost"),
  server_name: () => extraS("server_name"),
  server_port: () => extraN("port"),
  pid: () => extraN("pid"),
};

export const PRESETS: Record<string, string> = {
  clf: '%h %l %u %t "%r" %>s %b',
  common: '%h %l %u %t "%r" %>s %b',
  combined: '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"',
  vhost_combined: '%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i"',
  nginx:
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"',
};

/** True when the text holds an Apache directive or an nginx variable. */
export function looksLikeFormat(text: string): boolean {
  return /%[<>!,0-9]*(\{[^}]*\})?[a-zA-Z]/.test(text) || /\$\{?[A-Za-z_]/.test(text);
}

/** Accepts `LogFormat "…" name` pasted from httpd.conf, and `\"` escapes as written there. */
function unwrap(text: string): string {
  let t = text.trim();
  const directive = /^LogFormat\s+"((?:[^"\\]|\\.)*)"/i.exec(t);
  if (directive) t = directive[1]!;
  return t.replace(/\\(["\\])/g, "$1");
}

type Piece = string | Field;

function tokenizeApache(fmt: string): Piece[] {
  const out: Piece[] = [];
  let lit = "";
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c !== "%") {
      lit += c;
      continue;
    }
    if (fmt[i + 1] === "%") {
      lit += "%";
      i++;
      continue;
    }
    // %[!][status,list][<>][{arg}]letter
    let j = i + 1;
    while (j < fmt.length && /[!0-9,<>]/.test(fmt[j]!)) j++;
    let arg: string | null = null;
    if (fmt[j] === "{") {
      const close = fmt.indexOf("}", j);
      if (close === -1) throw new LogbenchError("CONFIG", `format ${JSON.stringify(fmt)}: "{" at ${j} is never closed`);
      arg = fmt.slice(j + 1, close);
      j = close + 1;
    }
    const letter = fmt[j];
    const make = letter === undefined ? undefined : APACHE[letter];
    if (!make)
      throw new LogbenchError(
        "CONFIG",
        `format ${JSON.stringify(fmt)}: unknown directive "${fmt.slice(i, j + 1)}" (see https://httpd.apache.org/docs/2.4/mod/mod_log_config.html#formats)`,
      );
    if (lit) out.push(lit);
    lit = "";
    out.push(make(arg));
    i = j;
  }
  if (lit) out.push(lit);
  return out;
}

function tokenizeNginx(fmt: string): Piece[] {
  const out: Piece[] = [];
  const re = /\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g;
  let last = 0;
  for (let m = re.exec(fmt); m !== null; m = re.exec(fmt)) {
    if (m.index > last) out.push(fmt.slice(last, m.index));
    const name = (m[1] ?? m[2])!;
    const known = NGINX[name];
    if (known) out.push(known());
    else if (name.startsWith("http_")) out.push(headerField(name.slice(5).replace(/_/g, "-")));
    else out.push(extraS(name));
    last = m.index + m[0].length;
  }
  if (last < fmt.length) out.push(fmt.slice(last));
  return out;
}

const NUMERIC = new Set<number>([TARGET.status, TARGET.bytes, TARGET.extraNumber]);

/** Compiles a format; throws LogbenchError CONFIG saying what is wrong with it. */
export function compileFormat(text: string): Program {
  const fmt = unwrap(text);
  const apache = /%[<>!,0-9]*(\{[^}]*\})?[a-zA-Z%]/.test(fmt);
  const pieces = apache ? tokenizeApache(fmt) : tokenizeNginx(fmt);
  // `%U%q` (path then query, no separator) is common: read it as one target split at "?".
  for (let i = 0; i + 1 < pieces.length; i++) {
    const a = pieces[i]!;
    const b = pieces[i + 1]!;
    if (typeof a !== "string" && typeof b !== "string" && a.target === TARGET.path && b.target === TARGET.query)
      pieces.splice(i, 2, f(TARGET.uri, "path and query"));
  }
  // Without %b / %B ($body_bytes_sent), the bytes sent with headers (%O, $bytes_sent) are the best byte count.
  const fields = pieces.filter((p): p is Field => typeof p !== "string");
  const bytesOut = fields.find((p) => p.key === "bytes_out");
  if (bytesOut && !fields.some((p) => p.target === TARGET.bytes)) {
    bytesOut.target = TARGET.bytes;
    bytesOut.label = "byte count";
  }
  const steps: Step[] = [];
  let pre = "";
  let hosts = 0;
  let times = 0;
  let plainTimes = 0;
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (typeof p === "string") {
      pre += p;
      continue;
    }
    let field = p;
    // A second address directive (%a beside %h) must not overwrite the first.
    if (field.target === TARGET.host && hosts++ > 0) field = extraS("client_ip", field.label);
    if (field.target === TARGET.time) {
      times++;
      if (field.time?.kind === "clf-bracketed" || field.time?.kind === "clf") plainTimes++;
    }
    const after = pieces[i + 1];
    const next = typeof after === "string" ? after : "";
    const last = after === undefined || (next === '"' && pieces[i + 2] === undefined);
    const selfDelimited = field.time !== null && field.time.kind !== "epoch" && field.time.kind !== "frac";
    let delim: number = DELIM.token;
    if (selfDelimited) delim = DELIM.self;
    else if (pre.endsWith('"') && next.startsWith('"')) delim = DELIM.quoted;
    // Numbers at the end stop at whitespace; strings at the end run to the end of the line.
    else if (after === undefined)
      delim = NUMERIC.has(field.target) || field.target === TARGET.time ? DELIM.word : DELIM.eol;
    else if (typeof after !== "string")
      throw new LogbenchError(
        "CONFIG",
        `format ${JSON.stringify(fmt)}: ${field.label} is followed directly by another field; put a separator between them`,
      );
    steps.push({ pre, preCode: pre.charCodeAt(0), field, delim, next, last });
    pre = "";
  }
  if (pre) steps.push({ pre, preCode: pre.charCodeAt(0), field: null, delim: DELIM.token, next: "", last: true });
  if (times === 0)
    throw new LogbenchError(
      "CONFIG",
      `format ${JSON.stringify(fmt)} has no time field (%t or $time_local): events need a time`,
    );
  return { source: text, steps, simpleTime: times === 1 && plainTimes === 1 };
}
