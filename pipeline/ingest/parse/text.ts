/**
 * Bytes → text for the parsers: one native UTF-8 decode per line, strict validation only when the
 * decoder had to substitute U+FFFD, and the unescaping of quoted access-log fields.
 */
import { isUtf8 } from "node:buffer";

type SliceFn = (this: Uint8Array, start: number, end: number) => string;
// Buffer#utf8Slice decodes any Uint8Array without wrapping it in a Buffer first (Node and Deno both
// have it); it is about twice as fast as TextDecoder on short lines. TextDecoder is the fallback.
const utf8Slice = (globalThis.Buffer?.prototype as unknown as { utf8Slice?: SliceFn } | undefined)?.utf8Slice;
const decoder = new TextDecoder("utf-8");

/** The line as text, without a trailing `\r`; null when the bytes are not valid UTF-8. */
export function decodeLine(bytes: Uint8Array): string | null {
  return decodeRange(bytes, 0, bytes.length);
}

/** decodeLine of buf[start..end), without making a view of it first. */
export function decodeRange(buf: Uint8Array, start: number, end: number): string | null {
  let n = end;
  if (n > start && buf[n - 1] === 13) n--;
  const text = utf8Slice ? utf8Slice.call(buf, start, n) : decoder.decode(buf.subarray(start, n));
  // A one-byte (ASCII/Latin-1) result cannot contain U+FFFD, so valid lines pay one indexOf only.
  if (text.indexOf("\uFFFD") !== -1 && !isUtf8(buf.subarray(start, n))) return null;
  return text;
}

const latin1Slice = (globalThis.Buffer?.prototype as unknown as { latin1Slice?: SliceFn } | undefined)?.latin1Slice;

/**
 * decodeLine for bytes known to be ASCII (readLines checks each chunk at once): a byte copy, about
 * twice as fast as the UTF-8 decode, and no U+FFFD test.
 */
export function decodeAsciiLine(bytes: Uint8Array): string {
  return decodeAsciiRange(bytes, 0, bytes.length);
}

/** decodeAsciiLine of buf[start..end), without making a view of it first. */
export function decodeAsciiRange(buf: Uint8Array, start: number, end: number): string {
  let n = end;
  if (n > start && buf[n - 1] === 13) n--;
  return latin1Slice ? latin1Slice.call(buf, start, n) : decoder.decode(buf.subarray(start, n));
}

/** Byte index of the first invalid UTF-8 sequence (for dead-letter reasons), -1 when valid. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  const n = bytes.length;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Lossy text of any bytes (U+FFFD for invalid sequences), for showing a dead letter to a person. */
export function lossyText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

const HEX = (c: number): number => {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
};

/** `\xhh` at s[i] with i + 4 <= end: the byte, or -1. */
function hexEscape(s: string, i: number, end: number): number {
  if (i + 4 > end || s.charCodeAt(i) !== 92 || s.charCodeAt(i + 1) !== 120) return -1;
  const hi = HEX(s.charCodeAt(i + 2));
  const lo = HEX(s.charCodeAt(i + 3));
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

const SIMPLE: Record<number, string> = {
  34: '"',
  92: "\\",
  110: "\n",
  116: "\t",
  114: "\r",
  98: "\b",
  118: "\v",
  102: "\f",
};

// Bytes of one `\xhh` run, reused across calls and grown by doubling. A fresh number[] per run turned
// into a Uint8Array cost more per byte the longer the run (8× the run, ~30× the time: issue 10), and a
// fatal TextDecoder threw an exception for every run that was not UTF-8.
let runBytes = new Uint8Array(256);

/** The `\xhh` run from s[i] (first byte `first` ≥ 0x80) into runBytes; returns its byte count. */
function readRun(s: string, i: number, end: number, first: number): number {
  let k = 0;
  for (let b = first, at = i; b >= 0x80; b = hexEscape(s, at, end)) {
    if (k === runBytes.length) {
      const grown = new Uint8Array(k * 2);
      grown.set(runBytes);
      runBytes = grown;
    }
    runBytes[k++] = b;
    at += 4;
  }
  return k;
}

/**
 * Undoes the escaping Apache (`\"`, `\\`, `\n`, `\xhh`, mod_log_config) and nginx (`\xHH`, log_format
 * escape=default) apply inside quoted fields. A run of `\xhh` bytes of 0x80 and up is decoded as UTF-8
 * (`\xe2\x80\x99` → `’`) when it is valid UTF-8, and kept exactly as written otherwise (a Windows-1251
 * referrer must not turn into U+FFFD). Unknown escapes are kept as written. Each character of
 * s[start..end) is read a bounded number of times: linear in the field's length.
 */
export function unescapeField(s: string, start: number, end: number): string {
  let out = "";
  let from = start;
  let i = s.indexOf("\\", start);
  while (i !== -1 && i < end - 1) {
    out += s.slice(from, i);
    const byte = hexEscape(s, i, end);
    let next = i + 2;
    if (byte >= 0x80) {
      const k = readRun(s, i, end, byte);
      next = i + 4 * k;
      const bytes = runBytes.subarray(0, k);
      if (isUtf8(bytes)) out += utf8Slice ? utf8Slice.call(bytes, 0, k) : decoder.decode(bytes);
      else out += s.slice(i, next);
    } else if (byte >= 0) {
      out += String.fromCharCode(byte);
      next = i + 4;
    } else {
      out += SIMPLE[s.charCodeAt(i + 1)] ?? s.slice(i, i + 2);
    }
    from = next;
    i = s.indexOf("\\", next);
  }
  return out + s.slice(from, end);
}

/** A value quoted for a reason, cut to a readable length: `"31/Feb/2024:00:00:00 +0000"`. */
export function show(s: string, max = 60): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}
