/**
 * The event time of a bus message whose text is a LogEvent as logbench's own encoder writes it
 * (pipeline/ingest/parse/event-json.ts: every field of LOG_EVENT_COLUMNS in that order, then `raw` at most, no
 * whitespace), checked in one pass over the bytes without building the event. The archive needs nothing else from
 * a message it spools (DuckDB reads the spooled JSON text itself), and a full `JSON.parse` per message for a check
 * and a timestamp was a sixth of the daemon's catch-up time (docs/benchmarks.md). The aggregate takes the few
 * fields its windows count the same way (scanWindowEvent).
 *
 * Only what is certainly a LogEvent for decodeEvent (model/decode-event.ts) is answered; anything else returns
 * null, and the caller decodes the message the long way: other key orders, whitespace, fields it does not know,
 * `extra`, numbers that are not plain integers, and any byte outside printable ASCII (so text with UTF-8, valid or
 * not, is left to TextDecoder and JSON.parse as before).
 */

import { Buffer } from "node:buffer";
import { LOG_EVENT_COLUMNS, type LogEvent } from "./log-event.ts";

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** `{"ts":`, then `,"name":` before each further column of LOG_EVENT_COLUMNS, in that order (the encoder's). */
const TS = bytes('{"ts":');
const KEYS = LOG_EVENT_COLUMNS.map((k) => bytes(`,"${k}":`));
/** How each column's value is written: an integer or null, a string (`source`: never null), or a string or null. */
const KIND = LOG_EVENT_COLUMNS.map((k) =>
  k === "status" || k === "bytes" ? "number" : k === "source" ? "string" : "nullableString",
);
const RAW = bytes(',"raw":');
const NULL = bytes("null");
const column = (name: (typeof LOG_EVENT_COLUMNS)[number]) => LOG_EVENT_COLUMNS.indexOf(name);

/** Longest integer taken here: 15 digits are below 2^53, so the value is exact. */
const MAX_DIGITS = 15;

/**
 * Where scanEvent found each field: for field i (LOG_EVENT_COLUMNS order), `at[2i]`..`at[2i+1]` is a string's text
 * between its quotes, or -1 for null; numbers are in `numbers[i]`. `escaped` has bit i set when field i's
 * text holds a backslash escape (then it is not its own value).
 */
export interface EventFields {
  at: Int32Array;
  escaped: number;
  /** Numbers by column (status, bytes); null for a null. */
  numbers: Array<number | null>;
}

/** The event time of a message in logbench's own event encoding, or null (decode it with decodeEvent). */
export function scanEventTs(b: Uint8Array): number | null {
  return scanEvent(b, null);
}

/** As scanEventTs, and when `fields` is given, where each field is in `b`. */
export function scanEvent(b: Uint8Array, fields: EventFields | null): number | null {
  if (fields) fields.escaped = 0;
  let at = literal(b, 0, TS);
  if (at < 0) return null;
  at = integerAt(b, at);
  if (at < 0) return null;
  const ts = intValue;
  // Each step gives -1 on a mismatch and passes a -1 on, so one test at the end covers them all.
  for (let i = 1; i < KEYS.length; i++) {
    const start = literal(b, at, KEYS[i]!);
    const kind = KIND[i];
    if (kind === "number") at = integerOrNull(b, start, fields, i);
    else if (kind === "string") at = stringAt(b, start, fields, i);
    else at = stringOrNull(b, start, fields, i);
  }
  if (at >= 0 && b[at] === 44 /* , */) at = stringOrNull(b, literal(b, at, RAW), null, 0);
  return at >= 0 && b[at] === 125 /* } */ && at + 1 === b.length ? ts : null;
}

/** Position after `lit` at `at`, or -1 when the bytes there differ (or `at` is already -1). */
function literal(b: Uint8Array, at: number, lit: Uint8Array): number {
  if (at < 0 || at + lit.length > b.length) return -1;
  for (let i = 0; i < lit.length; i++) if (b[at + i] !== lit[i]) return -1;
  return at + lit.length;
}

/** The value of the integer integerAt read last (a number, not an object per call: this runs per field). */
let intValue = 0;

/** A JSON integer without fraction or exponent, at most MAX_DIGITS digits: its end (value in intValue), or -1. */
function integerAt(b: Uint8Array, at: number): number {
  let i = at;
  const negative = b[i] === 45; /* - */
  if (negative) i++;
  const first = i;
  let value = 0;
  while (i < b.length && b[i]! >= 48 && b[i]! <= 57) value = value * 10 + (b[i++]! - 48);
  const digits = i - first;
  // JSON allows no leading zero (and JSON.parse would refuse "012"): leave such text to it.
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && b[first] === 48)) return -1;
  // A fraction or an exponent would make another number: the long way decides.
  if (b[i] === 46 || b[i] === 101 || b[i] === 69) return -1;
  intValue = negative ? -value : value;
  return i;
}

function integerOrNull(b: Uint8Array, at: number, fields: EventFields | null, field: number): number {
  if (at < 0) return -1;
  const n = literal(b, at, NULL);
  if (n >= 0) {
    if (fields) fields.numbers[field] = null;
    return n;
  }
  const end = integerAt(b, at);
  if (end >= 0 && fields) fields.numbers[field] = intValue;
  return end;
}

function stringOrNull(b: Uint8Array, at: number, fields: EventFields | null, field: number): number {
  if (at < 0) return -1;
  const n = literal(b, at, NULL);
  if (n < 0) return stringAt(b, at, fields, field);
  if (fields) fields.at[2 * field] = fields.at[2 * field + 1] = -1;
  return n;
}

const HEX = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * A JSON string of printable ASCII (and escapes JSON allows) starting at `at`: the position after its closing
 * quote, or -1. Raw control characters are not JSON; bytes of 0x7f and above are left to the long way.
 */
function stringAt(b: Uint8Array, at: number, fields: EventFields | null, field: number): number {
  if (at < 0 || b[at] !== 34) return -1;
  let i = at + 1;
  while (i < b.length) {
    const c = b[i]!;
    if (c === 34) {
      if (fields) {
        fields.at[2 * field] = at + 1;
        fields.at[2 * field + 1] = i;
      }
      return i + 1;
    }
    if (c < 32 || c >= 127) return -1;
    if (c === 92) {
      const e = b[i + 1];
      if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
      else if (e === 117 && HEX(b[i + 2]!) && HEX(b[i + 3]!) && HEX(b[i + 4]!) && HEX(b[i + 5]!)) i += 6;
      else return -1;
      if (fields) fields.escaped |= 1 << field;
    } else i++;
  }
  return -1;
}

const latin1Slice = Buffer.prototype.latin1Slice as (this: Uint8Array, start: number, end: number) => string;
const scanned: EventFields = {
  at: new Int32Array(2 * LOG_EVENT_COLUMNS.length),
  escaped: 0,
  numbers: LOG_EVENT_COLUMNS.map(() => null),
};
const HOST = column("host");
const METHOD = column("method");
const PATH = column("path");
const AGENT = column("agent");
const SOURCE = column("source");
const STATUS = column("status");
const BYTES = column("bytes");
/** The fields windowed counts read; `escaped` bits of these are what the fast path cannot take. */
const WINDOW_ESCAPES = (1 << HOST) | (1 << METHOD) | (1 << PATH) | (1 << AGENT) | (1 << SOURCE);

/** What the aggregate's windows read of an event. */
export type WindowEvent = Pick<LogEvent, "ts" | "host" | "method" | "path" | "status" | "bytes" | "agent" | "source">;

/**
 * The fields the aggregate's windows read, from a message in logbench's own event encoding, without JSON.parse and
 * without the strings of the fields it does not read (about half the cost of decodeEvent); null when the scan is
 * not certain of the message or one of these fields holds an escape (decode it with decodeEvent).
 */
export function scanWindowEvent(b: Uint8Array): WindowEvent | null {
  const ts = scanEvent(b, scanned);
  if (ts === null || (scanned.escaped & WINDOW_ESCAPES) !== 0) return null;
  const text = (field: number) => {
    const start = scanned.at[2 * field]!;
    return start < 0 ? null : latin1Slice.call(b, start, scanned.at[2 * field + 1]!);
  };
  return {
    ts,
    host: text(HOST),
    method: text(METHOD),
    path: text(PATH),
    status: scanned.numbers[STATUS] ?? null,
    bytes: scanned.numbers[BYTES] ?? null,
    agent: text(AGENT),
    source: text(SOURCE)!,
  };
}
