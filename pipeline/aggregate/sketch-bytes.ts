/**
 * The compact binary form of the sketches (unsigned LEB128 varints, UTF-8 strings), base64-encoded so it fits the
 * string fields every series store has. Only the aggregate sketches use it.
 */

// One of each for every sketch: a new TextEncoder per string was 9 % of the file-to-aggregates path.
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Grows as it is written; `base64()` gives the finished text. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private length = 0;

  /**
   * The one writer for sketches serialised one after another, emptied: a buffer per sketch per flushed window was
   * garbage. Use it up to its `base64()` before anything else serialises.
   */
  static shared(): ByteWriter {
    shared.length = 0;
    return shared;
  }

  byte(v: number): void {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
  }

  /** A non-negative safe integer, 7 bits a byte. */
  varint(v: number): void {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`varint out of range: ${v}`);
    this.ensure(8);
    const buf = this.buf;
    let at = this.length;
    while (v >= 0x80) {
      buf[at++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    buf[at++] = v;
    this.length = at;
  }

  bytes(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  /** The UTF-8 byte count, then the bytes (a lone surrogate is written as U+FFFD, as TextEncoder does). */
  text(s: string): void {
    let ascii = true;
    for (let i = 0; i < s.length; i++)
      if (s.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    if (!ascii) {
      const data = encoder.encode(s);
      this.varint(data.length);
      this.bytes(data);
      return;
    }
    // Paths and hosts are almost always ASCII: one byte per character, written in place.
    const n = s.length;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    const at = this.length;
    for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
    this.length = at + n;
  }

  get size(): number {
    return this.length;
  }

  base64(): string {
    return Buffer.from(this.buf.buffer, this.buf.byteOffset, this.length).toString("base64");
  }

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
}

const shared = new ByteWriter();

/** Reads what ByteWriter wrote; every read past the end throws, so a truncated field is an error, not garbage. */
export class ByteReader {
  private pos = 0;
  private readonly data: Uint8Array;

  constructor(
    base64: string,
    private readonly what: string,
  ) {
    this.data = new Uint8Array(Buffer.from(base64, "base64"));
  }

  byte(): number {
    if (this.pos >= this.data.length) throw new Error(`${this.what}: the encoded sketch is truncated`);
    return this.data[this.pos++]!;
  }

  varint(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 0x80;
      if (scale > 2 ** 56) throw new Error(`${this.what}: a varint is too long`);
    }
  }

  bytes(n: number): Uint8Array {
    if (this.pos + n > this.data.length) throw new Error(`${this.what}: the encoded sketch is truncated`);
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  text(): string {
    return decoder.decode(this.bytes(this.varint()));
  }

  /** Throws when bytes are left over (a field from another writer or version). */
  end(): void {
    if (this.pos !== this.data.length) throw new Error(`${this.what}: ${this.data.length - this.pos} bytes left over`);
  }
}
