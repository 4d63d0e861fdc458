/**
 * Record framing of the local file log. One partition is one append-only file of frames:
 *
 *   frame   = magic:u32 bodyLength:u32 crc:u32 body          (big-endian)
 *   body    = timestamp:f64 keyLength:i32 key:bytes value:bytes   (keyLength -1 = null key)
 *   magic   = 0x4C424631 ("LBF1");  crc = CRC-32 (IEEE) of body
 *
 * A record's offset is the byte position of its frame. A frame that is cut short, has another
 * magic, an absurd length, or a CRC that does not match ends the readable part of the file: appends
 * are serialized and each writer cuts such a tail away before it writes (see partition-log.ts),
 * so the only place one can be is the tail left by a writer killed mid-write.
 */

import { Buffer } from "node:buffer";
import * as zlib from "node:zlib";

export const MAGIC = 0x4c424631;
export const HEADER_BYTES = 12;
const BODY_FIXED = 12;
/** Larger bodies are treated as garbage: a torn length field must not make readers wait for gigabytes. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 as in zlib/PNG: node:zlib's native crc32 where the runtime has it (Node ≥ 20.15; it was a third of the
 * consumers' frame walk in JS), this table-driven copy where it does not.
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  if (nativeCrc32) return nativeCrc32(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
  return crc32Js(bytes, start, end);
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/** The portable CRC-32 (tests check it against the native one). */
export function crc32Js(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface FrameRecord {
  key: string | null;
  /** The value's bytes, or a string written as UTF-8. */
  value: Uint8Array | string;
  timestamp: number;
}

/** A frame as read back: the value is always bytes. */
export interface DecodedFrame extends FrameRecord {
  value: Uint8Array;
}

/** Encode records into one buffer of consecutive frames (one write, one fsync). */
export function encodeFrames(records: FrameRecord[]): Uint8Array {
  const keyLengths = new Int32Array(records.length);
  const valueLengths = new Int32Array(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    keyLengths[i] = r.key === null ? -1 : Buffer.byteLength(r.key, "utf8");
    valueLengths[i] = typeof r.value === "string" ? Buffer.byteLength(r.value, "utf8") : r.value.length;
    total += HEADER_BYTES + BODY_FIXED + Math.max(0, keyLengths[i]!) + valueLengths[i]!;
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const keyLength = keyLengths[i]!;
    const bodyStart = pos + HEADER_BYTES;
    const valueStart = bodyStart + BODY_FIXED + Math.max(0, keyLength);
    const bodyLength = valueStart - bodyStart + valueLengths[i]!;
    out.writeUInt32BE(MAGIC, pos);
    out.writeUInt32BE(bodyLength, pos + 4);
    out.writeDoubleBE(r.timestamp, bodyStart);
    out.writeInt32BE(keyLength, bodyStart + 8);
    if (r.key !== null) out.write(r.key, bodyStart + BODY_FIXED, keyLength, "utf8");
    if (typeof r.value === "string") out.write(r.value, valueStart, valueLengths[i]!, "utf8");
    else out.set(r.value, valueStart);
    out.writeUInt32BE(crc32(out, bodyStart, bodyStart + bodyLength), pos + 8);
    pos = bodyStart + bodyLength;
  }
  return out;
}

export type FrameCheck =
  | { kind: "frame"; length: number }
  /** The bytes so far are a valid beginning; `need` bytes in all would complete the frame. */
  | { kind: "incomplete"; need: number }
  | { kind: "invalid"; reason: string };

/**
 * Check the frame starting at `at` in `buf` (which holds `available` meaningful bytes). `crc` false skips only the
 * body's checksum, for a frame this process has checked already (magic and lengths are checked still).
 */
export function checkFrame(
  buf: Uint8Array,
  at: number,
  available: number,
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
  crc = true,
): FrameCheck {
  const left = available - at;
  if (left < HEADER_BYTES) return { kind: "incomplete", need: HEADER_BYTES };
  if (view.getUint32(at) !== MAGIC) return { kind: "invalid", reason: "bad magic" };
  const bodyLength = view.getUint32(at + 4);
  if (bodyLength < BODY_FIXED || bodyLength > MAX_BODY_BYTES) return { kind: "invalid", reason: "bad length" };
  if (left < HEADER_BYTES + bodyLength) return { kind: "incomplete", need: HEADER_BYTES + bodyLength };
  const start = at + HEADER_BYTES;
  if (crc && crc32(buf, start, start + bodyLength) !== view.getUint32(at + 8)) {
    return { kind: "invalid", reason: "bad CRC" };
  }
  const keyLength = view.getInt32(start + 8);
  if (keyLength < -1 || keyLength > bodyLength - BODY_FIXED) return { kind: "invalid", reason: "bad key length" };
  return { kind: "frame", length: HEADER_BYTES + bodyLength };
}

/** A frame as read from a partition: where it is, and its record (the shape of a BusMessage). */
export interface StoredFrame extends DecodedFrame {
  partition: number;
  offset: number;
}

const utf8Slice = Buffer.prototype.utf8Slice as (this: Uint8Array, start: number, end: number) => string;

/** Big-endian f64 read without a DataView per record: the bytes reversed into a little-endian scratch. */
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A record read back: where its frame is, and its fields read from the frame's bytes when asked for. A reader
 * holds a batch of these until its handler is done, so what each record allocates up front is what the
 * consumers' scavenges copy and promote (docs/benchmarks.md): a key string (the events' archive and aggregate
 * groups never read the key), a view of the value and a boxed timestamp each were most of it. The value's view
 * is made on first use and kept.
 */
class ReadRecord implements StoredFrame {
  private view: Uint8Array | null = null;

  constructor(
    readonly partition: number,
    readonly offset: number,
    private readonly buf: Uint8Array,
    /** The frame's first byte in `buf`. */
    private readonly at: number,
  ) {}

  get value(): Uint8Array {
    if (this.view) return this.view;
    const buf = this.buf;
    const start = this.at + HEADER_BYTES;
    const valueStart = start + BODY_FIXED + Math.max(this.keyLength(), 0);
    this.view = buf.subarray(valueStart, start + u32(buf, this.at + 4));
    return this.view;
  }

  get key(): string | null {
    const n = this.keyLength();
    if (n < 0) return null;
    const keyStart = this.at + HEADER_BYTES + BODY_FIXED;
    return utf8Slice.call(this.buf, keyStart, keyStart + n);
  }

  get timestamp(): number {
    const buf = this.buf;
    const start = this.at + HEADER_BYTES;
    for (let i = 0; i < 8; i++) f64Bytes[littleEndian ? 7 - i : i] = buf[start + i]!;
    return f64[0]!;
  }

  /** The record's fields (getters are no own properties: JSON would leave them out, as would a spread). */
  toJSON(): StoredFrame {
    const { partition, offset, timestamp, key, value } = this;
    return { partition, offset, timestamp, key, value };
  }

  private keyLength(): number {
    return u32(this.buf, this.at + HEADER_BYTES + 8) | 0;
  }
}

function u32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/**
 * Decode a frame already accepted by checkFrame, as partition `partition`'s record at `offset`: one object per
 * record, in a bus message's shape, since consumers read every record of a catch-up. Its value is a view into
 * `buf` (readers allocate a new buffer per read, so it stays valid; a copy per record was a large share of the
 * consumers' garbage), and its fields are read from `buf` when asked for.
 */
export function decodeFrame(buf: Uint8Array, at: number, partition = -1, offset = at): StoredFrame {
  return new ReadRecord(partition, offset, buf, at);
}

/** Start of the last frame in `frames` (whole frames from encodeFrames), read from the length fields only. */
export function lastFrameStart(frames: Uint8Array): number {
  const view = new DataView(frames.buffer, frames.byteOffset, frames.byteLength);
  let at = 0;
  let last = -1;
  while (at + HEADER_BYTES <= frames.length) {
    last = at;
    at += HEADER_BYTES + view.getUint32(at + 4);
  }
  return last;
}
