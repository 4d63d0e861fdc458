/**
 * The event time of a bus message whose text is a LogEvent as logbench's own encoder writes it
 * (pipeline/ingest/parse/event-json.ts: every field of LOG_EVENT_COLUMNS in that order, then `raw` at most, no
 * whitespace), checked in one pass over the bytes without building the event. The archive needs nothing else from
 * a message it spools (DuckDB reads the spooled JSON text itself), and a full `JSON.parse` per message for a check
 * and a timestamp was a sixth of the daemon's catch-up time (docs/benchmarks.md).
 *
 * Only what is certainly a LogEvent for decodeEvent (model/decode-event.ts) is answered; anything else returns
 * null, and the caller decodes the message the long way: other key orders, whitespace, fields it does not know,
 * `extra`, numbers that are not plain integers, and any byte outside printable ASCII (so text with UTF-8, valid or
 * not, is left to TextDecoder and JSON.parse as before).
 */

const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** `{"ts":`, then `,"name":` before each further field, in the encoder's order. */
const TS = bytes('{"ts":');
const STRING_FIELDS_1 = ["host", "ident", "user", "method", "path", "query", "protocol"].map((k) => bytes(`,"${k}":`));
const STATUS = bytes(',"status":');
const BYTES = bytes(',"bytes":');
const STRING_FIELDS_2 = ["referrer", "agent"].map((k) => bytes(`,"${k}":`));
const SOURCE = bytes(',"source":');
const RAW = bytes(',"raw":');
const NULL = bytes("null");

/** Longest integer taken here: 15 digits are below 2^53, so the value is exact. */
const MAX_DIGITS = 15;

/** The event time of a message in logbench's own event encoding, or null (decode it with decodeEvent). */
export function scanEventTs(b: Uint8Array): number | null {
  let at = literal(b, 0, TS);
  if (at < 0) return null;
  const ts = integerAt(b, at);
  if (ts === null) return null;
  at = ts.end;
  for (const key of STRING_FIELDS_1) if ((at = stringOrNull(b, literal(b, at, key))) < 0) return null;
  if ((at = integerOrNull(b, literal(b, at, STATUS))) < 0) return null;
  if ((at = integerOrNull(b, literal(b, at, BYTES))) < 0) return null;
  for (const key of STRING_FIELDS_2) if ((at = stringOrNull(b, literal(b, at, key))) < 0) return null;
  if ((at = stringAt(b, literal(b, at, SOURCE))) < 0) return null;
  if (b[at] === 44 /* , */) {
    if ((at = stringOrNull(b, literal(b, at, RAW))) < 0) return null;
  }
  return b[at] === 125 /* } */ && at + 1 === b.length ? ts.value : null;
}

/** Position after `lit` at `at`, or -1 when the bytes there differ (or `at` is already -1). */
function literal(b: Uint8Array, at: number, lit: Uint8Array): number {
  if (at < 0 || at + lit.length > b.length) return -1;
  for (let i = 0; i < lit.length; i++) if (b[at + i] !== lit[i]) return -1;
  return at + lit.length;
}

/** A JSON integer without fraction or exponent, at most MAX_DIGITS digits: its value and end, or null. */
function integerAt(b: Uint8Array, at: number): { value: number; end: number } | null {
  let i = at;
  const negative = b[i] === 45; /* - */
  if (negative) i++;
  const first = i;
  let value = 0;
  while (i < b.length && b[i]! >= 48 && b[i]! <= 57) value = value * 10 + (b[i++]! - 48);
  const digits = i - first;
  // JSON allows no leading zero (and JSON.parse would refuse "012"): leave such text to it.
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && b[first] === 48)) return null;
  // A fraction or an exponent would make another number: the long way decides.
  if (b[i] === 46 || b[i] === 101 || b[i] === 69) return null;
  return { value: negative ? -value : value, end: i };
}

function integerOrNull(b: Uint8Array, at: number): number {
  if (at < 0) return -1;
  const n = literal(b, at, NULL);
  if (n >= 0) return n;
  return integerAt(b, at)?.end ?? -1;
}

function stringOrNull(b: Uint8Array, at: number): number {
  if (at < 0) return -1;
  const n = literal(b, at, NULL);
  return n >= 0 ? n : stringAt(b, at);
}

const HEX = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/**
 * A JSON string of printable ASCII (and escapes JSON allows) starting at `at`: the position after its closing
 * quote, or -1. Raw control characters are not JSON; bytes of 0x7f and above are left to the long way.
 */
function stringAt(b: Uint8Array, at: number): number {
  if (at < 0 || b[at] !== 34) return -1;
  let i = at + 1;
  while (i < b.length) {
    const c = b[i]!;
    if (c === 34) return i + 1;
    if (c < 32 || c >= 127) return -1;
    if (c === 92) {
      const e = b[i + 1];
      if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
      else if (e === 117 && HEX(b[i + 2]!) && HEX(b[i + 3]!) && HEX(b[i + 4]!) && HEX(b[i + 5]!)) i += 6;
      else return -1;
    } else i++;
  }
  return -1;
}
