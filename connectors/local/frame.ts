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

/** Check the frame starting at `at` in `buf` (which holds `available` meaningful bytes). */
export function checkFrame(
  buf: Uint8Array,
  at: number,
  available: number,
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
): FrameCheck {
  const left = available - at;
  if (left < HEADER_BYTES) return { kind: "incomplete", need: HEADER_BYTES };
  if (view.getUint32(at) !== MAGIC) return { kind: "invalid", reason: "bad magic" };
  const bodyLength = view.getUint32(at + 4);
  if (bodyLength < BODY_FIXED || bodyLength > MAX_BODY_BYTES) return { kind: "invalid", reason: "bad length" };
  if (left < HEADER_BYTES + bodyLength) return { kind: "incomplete", need: HEADER_BYTES + bodyLength };
  const start = at + HEADER_BYTES;
  if (crc32(buf, start, start + bodyLength) !== view.getUint32(at + 8)) return { kind: "invalid", reason: "bad CRC" };
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

/**
 * A record read back. Its key is decoded from the frame's bytes when it is read: the events' archive and aggregate
 * groups never read it, and a string per record, kept with the batch, was about 7 % of what the aggregate's
 * scavenges promoted (docs/benchmarks.md). The key's bytes sit just before the value's.
 */
class ReadRecord implements StoredFrame {
  constructor(
    readonly partition: number,
    readonly offset: number,
    readonly timestamp: number,
    readonly value: Uint8Array,
    /** -1: no key. */
    private readonly keyLength: number,
  ) {}

  get key(): string | null {
    if (this.keyLength < 0) return null;
    const v = this.value;
    const bytes = new Uint8Array(v.buffer, v.byteOffset - this.keyLength, this.keyLength);
    return utf8Slice.call(bytes, 0, this.keyLength);
  }

  /** The record's fields, the key with them (a getter is no own property: JSON and spreads would leave it out). */
  toJSON(): StoredFrame {
    const { partition, offset, timestamp, key, value } = this;
    return { partition, offset, timestamp, key, value };
  }
}

/**
 * Decode a frame already accepted by checkFrame, as partition `partition`'s record at `offset`: one object per
 * record, in a bus message's shape, since consumers read every record of a catch-up. The value is a view into
 * `buf` (readers allocate a new buffer per read, so it stays valid; a copy per record was a large share of the
 * consumers' garbage); the key is decoded from it when read.
 */
export function decodeFrame(
  buf: Uint8Array,
  at: number,
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength),
  partition = -1,
  offset = at,
): StoredFrame {
  const bodyLength = view.getUint32(at + 4);
  const start = at + HEADER_BYTES;
  const timestamp = view.getFloat64(start);
  const keyLength = view.getInt32(start + 8);
  const valueStart = start + BODY_FIXED + Math.max(keyLength, 0);
  return new ReadRecord(partition, offset, timestamp, buf.subarray(valueStart, start + bodyLength), keyLength);
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
