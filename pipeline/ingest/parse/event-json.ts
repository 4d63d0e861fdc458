/**
 * LogEvent → JSON as UTF-8 bytes, written straight into an output buffer: byte for byte what
 * `Buffer.from(JSON.stringify(event))` gives for the events the parsers build (their fields in
 * LOG_EVENT_COLUMNS order, then `raw`, then `extra`). Building a string per event and concatenating
 * them cost more than parsing the lines: every event made a rope of ~26 pieces that was flattened,
 * encoded and dropped. Here each character is checked for escaping and stored in one pass, and no
 * string is allocated unless a field holds something unusual (then JSON.stringify writes that field).
 */
import type { LogEvent } from "../../model/log-event.ts";

const HEXD = "0123456789abcdef";
const SHORT: Record<number, number> = { 8: 98, 9: 116, 10: 110, 12: 102, 13: 114 };

const len = (v: string | null) => (v === null ? 0 : v.length);

/** Most bytes `encodeEvent` may write for `e` (a JSON escape takes up to 6 bytes per UTF-16 unit). */
export function encodedBound(e: LogEvent): number {
  const n =
    len(e.host) +
    len(e.ident) +
    len(e.user) +
    len(e.method) +
    len(e.path) +
    len(e.query) +
    len(e.protocol) +
    len(e.referrer) +
    len(e.agent) +
    e.source.length +
    (e.raw?.length ?? 0);
  // extra goes through JSON.stringify, which escapes already: 3 bytes per unit at most.
  return 6 * n + 256 + (e.extra === undefined ? 0 : 3 * JSON.stringify(e.extra).length);
}

/**
 * Writes s[from..] as UTF-8, escaped for a JSON string when `escaped` (lone surrogates as \\udxxx,
 * as JSON.stringify does); returns the new position.
 */
function writeSlow(s: string, from: number, buf: Uint8Array, at: number, escaped = true): number {
  for (let i = from; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      if (escaped && (c < 32 || c === 34 || c === 92)) {
        buf[at++] = 92;
        const short = c === 34 || c === 92 ? c : SHORT[c];
        if (short !== undefined) buf[at++] = short;
        else {
          buf[at++] = 117;
          buf[at++] = 48;
          buf[at++] = 48;
          buf[at++] = HEXD.charCodeAt(c >> 4);
          buf[at++] = HEXD.charCodeAt(c & 15);
        }
      } else buf[at++] = c;
    } else if (c < 0x800) {
      buf[at++] = 0xc0 | (c >> 6);
      buf[at++] = 0x80 | (c & 63);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff ? s.charCodeAt(i + 1) : Number.NaN;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        buf[at++] = 0xf0 | (c >> 18);
        buf[at++] = 0x80 | ((c >> 12) & 63);
        buf[at++] = 0x80 | ((c >> 6) & 63);
        buf[at++] = 0x80 | (c & 63);
      } else {
        // A lone surrogate: JSON.stringify writes it as \udxxx.
        buf[at++] = 92;
        buf[at++] = 117;
        for (let k = 12; k >= 0; k -= 4) buf[at++] = HEXD.charCodeAt((c >> k) & 15);
      }
    } else {
      buf[at++] = 0xe0 | (c >> 12);
      buf[at++] = 0x80 | ((c >> 6) & 63);
      buf[at++] = 0x80 | (c & 63);
    }
  }
  return at;
}

/** `"s"` as JSON at buf[at]; returns the new position. */
function writeString(s: string, buf: Uint8Array, at: number): number {
  buf[at++] = 34;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 32 || c === 34 || c === 92 || c >= 0x80) {
      at = writeSlow(s, i, buf, at);
      break;
    }
    buf[at++] = c;
  }
  buf[at++] = 34;
  return at;
}

function writeAscii(s: string, buf: Uint8Array, at: number): number {
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

/** An ASCII literal's bytes, written with a loop (faster than `set` for a dozen bytes). */
function writeBytes(b: Uint8Array, buf: Uint8Array, at: number): number {
  for (let i = 0; i < b.length; i++) buf[at++] = b[i]!;
  return at;
}

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const NULL = bytes("null");

/** A non-negative integer below 2^31, as decimal digits. */
function writeSmall(x: number, buf: Uint8Array, at: number): number {
  let digits = 1;
  for (let p = 10; p <= x && digits < 10; p *= 10) digits++;
  for (let k = at + digits - 1; k >= at; k--) {
    const q = (x / 10) | 0;
    buf[k] = 48 + x - q * 10;
    x = q;
  }
  return at + digits;
}

/** A number as JSON (String's digits; null when not finite), or null. */
function writeNumber(v: number | null, buf: Uint8Array, at: number): number {
  if (v === null || !Number.isFinite(v)) return writeBytes(NULL, buf, at);
  if (v >= 0 && v <= 0x7fffffff && (v | 0) === v) return writeSmall(v, buf, at);
  if (Number.isSafeInteger(v) && v >= 0) {
    // Up to 16 digits: the high part, then the low eight digits zero-padded (epoch milliseconds land here).
    const high = Math.floor(v / 1e8);
    const low = v - high * 1e8;
    at = writeSmall(high, buf, at);
    for (let k = at + 7, x = low; k >= at; k--) {
      const q = (x / 10) | 0;
      buf[k] = 48 + x - q * 10;
      x = q;
    }
    return at + 8;
  }
  return writeAscii(String(v), buf, at);
}

function writeField(key: Uint8Array, v: string | null, buf: Uint8Array, at: number): number {
  at = writeBytes(key, buf, at);
  return v === null ? writeBytes(NULL, buf, at) : writeString(v, buf, at);
}

const K = {
  ts: bytes('{"ts":'),
  host: bytes(',"host":'),
  ident: bytes(',"ident":'),
  user: bytes(',"user":'),
  method: bytes(',"method":'),
  path: bytes(',"path":'),
  query: bytes(',"query":'),
  protocol: bytes(',"protocol":'),
  status: bytes(',"status":'),
  bytes: bytes(',"bytes":'),
  referrer: bytes(',"referrer":'),
  agent: bytes(',"agent":'),
  source: bytes(',"source":'),
  raw: bytes(',"raw":'),
  extra: bytes(',"extra":'),
};

/**
 * Writes the event's JSON at buf[at] and returns the position after it. The caller makes sure that
 * `encodedBound(e)` bytes are free from `at`.
 */
export function encodeEvent(e: LogEvent, buf: Uint8Array, at: number): number {
  at = writeBytes(K.ts, buf, at);
  at = writeNumber(e.ts, buf, at);
  at = writeField(K.host, e.host, buf, at);
  at = writeField(K.ident, e.ident, buf, at);
  at = writeField(K.user, e.user, buf, at);
  at = writeField(K.method, e.method, buf, at);
  at = writeField(K.path, e.path, buf, at);
  at = writeField(K.query, e.query, buf, at);
  at = writeField(K.protocol, e.protocol, buf, at);
  at = writeBytes(K.status, buf, at);
  at = writeNumber(e.status, buf, at);
  at = writeBytes(K.bytes, buf, at);
  at = writeNumber(e.bytes, buf, at);
  at = writeField(K.referrer, e.referrer, buf, at);
  at = writeField(K.agent, e.agent, buf, at);
  at = writeField(K.source, e.source, buf, at);
  if (e.raw !== undefined) at = writeField(K.raw, e.raw, buf, at);
  if (e.extra !== undefined) {
    at = writeBytes(K.extra, buf, at);
    at = writeSlow(JSON.stringify(e.extra), 0, buf, at, false);
  }
  buf[at++] = 125;
  return at;
}
